"""Compute: clusters and their hosts."""

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from hybridcloud.core.units import GIB
from inventory.choices import (
    BASELINE_LEVELS,
    CPU_OVERCOMMIT_RATIO,
    HYPERVISOR_MIGRATION_DEFAULTS,
    LINUX_DEFAULT_TCP_BUFFER_BYTES,
    CpuBaseline,
    CpuVendor,
    HostState,
    Hypervisor,
)
from inventory.models.sites import Site


class Cluster(models.Model):
    """A group of hosts on one site sharing a CPU vendor and feature baseline; names are unique per site."""

    name = models.CharField(max_length=100)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="clusters")
    cpu_vendor = models.CharField(max_length=16, choices=CpuVendor.choices)
    cpu_baseline = models.CharField(
        max_length=32, choices=CpuBaseline.choices, help_text="EVC-like baseline: the CPU features guests see."
    )
    estate = models.ForeignKey(
        "inventory.Estate", null=True, blank=True, on_delete=models.PROTECT, related_name="clusters",
        help_text="The imported estate (vCenter) this came from; empty when entered by hand.",
    )  # fmt: skip

    class Meta:
        ordering = ["site__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "name"],
                name="cluster_unique_name_per_site",
                violation_error_message="A cluster with this name already exists on this site.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.site})"

    def get_absolute_url(self) -> str:
        return reverse("inventory:cluster_detail", args=[self.pk])

    @property
    def baseline_level(self) -> int:
        return BASELINE_LEVELS.get(self.cpu_baseline, 0)

    def clean(self) -> None:
        # The baseline belongs to the cluster's CPU vendor.
        if self.cpu_baseline and self.cpu_vendor and not self.cpu_baseline.startswith(self.cpu_vendor + "-"):
            baseline, vendor = self.get_cpu_baseline_display(), self.get_cpu_vendor_display()
            raise ValidationError({"cpu_baseline": f"{baseline} is not a baseline for {vendor} CPUs."})


class Host(models.Model):
    """A hypervisor host in a cluster. Names are unique; a host in maintenance or down takes no new workloads.
    Its migration stack (streams, socket buffer, cipher and codec throughput) bounds how fast it moves memory; a KVM
    host's buffer is always a number, since Linux never grows a socket past tcp_rmem's maximum."""

    name = models.CharField(max_length=100, unique=True)
    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="hosts")
    cores = models.PositiveIntegerField(validators=[MinValueValidator(1)], help_text="Physical CPU cores.")
    ghz = models.FloatField(validators=[MinValueValidator(0.1)], help_text="Clock speed in GHz.")
    memory_bytes = models.BigIntegerField(validators=[MinValueValidator(GIB)])
    migration_nic_gbps = models.PositiveIntegerField(
        default=10, validators=[MinValueValidator(1)], help_text="Speed of the vMotion/migration NIC in Gbit/s."
    )
    migration_mtu_bytes = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[
            MinValueValidator(576, message="An MTU below 576 bytes (IPv4's minimum) cannot carry a migration."),
            MaxValueValidator(9216, message="An MTU above 9216 bytes (the largest jumbo frame) is not a real port."),
        ],
        help_text="MTU of the host's migration (vMotion vmkernel) port, bytes; empty = not known (1500 assumed). "
        "The path's MTU is the smaller of this and the link's.",
    )
    state = models.CharField(max_length=16, choices=HostState.choices, default=HostState.CONNECTED)
    cpu_model = models.CharField(max_length=128, blank=True, help_text="e.g. Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz")
    esx_version = models.CharField(max_length=128, blank=True, help_text="e.g. VMware ESXi 8.0.2 build-22380479")
    evc_mode = models.CharField(max_length=64, blank=True, help_text="vCenter's current EVC mode key, if any.")
    estate = models.ForeignKey(
        "inventory.Estate", null=True, blank=True, on_delete=models.PROTECT, related_name="hosts",
        help_text="The imported estate (vCenter) this came from; empty when entered by hand.",
    )  # fmt: skip
    hypervisor = models.CharField(max_length=8, choices=Hypervisor.choices, default=Hypervisor.ESXI)
    migration_streams = models.PositiveSmallIntegerField(
        default=HYPERVISOR_MIGRATION_DEFAULTS[Hypervisor.ESXI]["migration_streams"],
        validators=[
            MinValueValidator(1, message="A migration needs at least one TCP stream."),
            MaxValueValidator(64, message="More than 64 migration streams per move is not a real configuration."),
        ],
        help_text="TCP streams one live migration opens (vMotion streams, QEMU multifd channels).",
    )
    migration_socket_buffer_bytes = models.BigIntegerField(
        null=True,
        blank=True,
        validators=[
            MinValueValidator(64 * 1024, message="A socket buffer below 64 KiB is not a real setting."),
            MaxValueValidator(2 * GIB, message="A socket buffer above 2 GiB is not a real setting."),
        ],
        help_text="Each stream's TCP socket buffer, bytes; empty = tuned to the path's bandwidth-delay product "
        "(vSphere). Linux with default settings stops at 6 MiB (6291456).",
    )
    migration_encrypted = models.BooleanField(
        default=False, help_text="Encrypt every live migration from or to this host (encrypted vMotion, QEMU TLS)."
    )
    migration_cipher_rate_bps = models.BigIntegerField(
        default=HYPERVISOR_MIGRATION_DEFAULTS[Hypervisor.ESXI]["migration_cipher_rate_bps"],
        validators=[MinValueValidator(1_000_000, message="A cipher slower than 1 MB/s is not a real figure.")],
        help_text="Bytes per second one encrypted migration can encrypt (or decrypt) on this host.",
    )
    migration_codec_rate_bps = models.BigIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1_000_000, message="A codec slower than 1 MB/s is not a real figure.")],
        help_text="Bytes of memory per second this host compresses for WAN optimisation, when the host itself "
        "compresses (QEMU multifd zstd); empty = a WAN optimiser on the link does it at line rate.",
    )
    tags = models.ManyToManyField("Tag", blank=True, related_name="hosts")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("inventory:host_detail", args=[self.pk])

    def clean(self) -> None:
        # Linux never grows a socket past net.ipv4.tcp_rmem's maximum, so a KVM host's buffer is a number.
        if self.hypervisor == Hypervisor.KVM and self.migration_socket_buffer_bytes is None:
            raise ValidationError(
                {
                    "migration_socket_buffer_bytes": (
                        "A KVM host's socket buffer cannot be 'tuned to the path': Linux stops at "
                        "net.ipv4.tcp_rmem's maximum. Enter that maximum in bytes "
                        f"({LINUX_DEFAULT_TCP_BUFFER_BYTES} with default settings)."
                    )
                }
            )

    @property
    def site(self) -> Site:
        return self.cluster.site

    @property
    def migration_bandwidth_bps(self) -> float:
        return self.migration_nic_gbps * 1_000_000_000 / 8

    @property
    def max_concurrent_migrations(self) -> int:
        """vMotion's limits: 4 concurrent live migrations on a 1 GbE migration NIC, 8 on 10 GbE or faster."""
        return 8 if self.migration_nic_gbps >= 10 else 4

    @property
    def vcpu_capacity(self) -> int:
        return self.cores * CPU_OVERCOMMIT_RATIO
