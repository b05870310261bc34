"""The hybrid cloud's inventory: sites, the links between them, clusters, hosts, storage, networks and workloads."""

import ipaddress

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Greatest, Least
from django.urls import reverse

from inventory.choices import (
    BASELINE_LEVELS,
    CPU_OVERCOMMIT_RATIO,
    ESTATE_IMPORT_FINISHED,
    HYPERVISOR_MIGRATION_DEFAULTS,
    LINUX_DEFAULT_TCP_BUFFER_BYTES,
    CpuBaseline,
    CpuVendor,
    DatastoreKind,
    EstateImportStatus,
    HostState,
    Hypervisor,
    PlacementRuleKind,
    PlacementScope,
    PowerState,
    SiteKind,
    WorkloadKind,
)
from inventory.usage import takes_room, usage_by

GIB = 2**30
MIB = 2**20
IP_TCP_HEADER_BYTES = 40  # IPv4 + TCP headers without options: MSS = MTU - 40


class Site(models.Model):
    """A private datacenter or a public cloud region. Names are unique."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=SiteKind.choices, default=SiteKind.PRIVATE)
    provider = models.CharField(max_length=100, help_text="Who runs it: 'On-premises', 'AWS', 'Azure', ...")
    region = models.CharField(max_length=64, blank=True, help_text="The provider's region code, e.g. us-east-1.")
    location = models.CharField(max_length=100, help_text="City or area, e.g. 'Santa Clara, California'.")
    latitude = models.FloatField(validators=[MinValueValidator(-90), MaxValueValidator(90)])
    longitude = models.FloatField(validators=[MinValueValidator(-180), MaxValueValidator(180)])
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("inventory:site_detail", args=[self.pk])


class CloudLink(models.Model):
    """A symmetric WAN link between two different sites; at most one per pair of sites, in either order."""

    site_a = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="links_as_a")
    site_b = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="links_as_b")
    bandwidth_mbit = models.PositiveIntegerField(
        validators=[MinValueValidator(1)], help_text="Usable bandwidth in Mbit/s (1 Gbit/s = 1000)."
    )
    rtt_ms = models.FloatField(validators=[MinValueValidator(0)], help_text="Round-trip time in milliseconds.")
    loss_percent = models.FloatField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(100)], help_text="Packet loss, in percent."
    )
    compression_ratio = models.FloatField(
        default=1.0,
        validators=[MinValueValidator(1.0), MaxValueValidator(10.0)],
        help_text="WAN optimization: memory bytes carried per byte on the wire (1.0 = none).",
    )
    encrypted = models.BooleanField(default=True)
    mtu_bytes = models.PositiveIntegerField(
        default=1500,
        validators=[
            MinValueValidator(576, message="An MTU below 576 bytes (IPv4's minimum) cannot carry a migration."),
            MaxValueValidator(9216, message="An MTU above 9216 bytes (the largest jumbo frame) is not a real path."),
        ],
        help_text="Largest IP packet on the path, bytes (1500 Ethernet; less through a VPN; 9000 jumbo frames).",
    )

    class Meta:
        ordering = ["site_a__name", "site_b__name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(site_a=models.F("site_b")),
                name="cloudlink_distinct_sites",
                violation_error_message="A link joins two different sites.",
            ),
            models.UniqueConstraint(
                Least("site_a", "site_b"),
                Greatest("site_a", "site_b"),
                name="cloudlink_one_per_site_pair",
                violation_error_message="These two sites are already linked (links are symmetric: one per pair).",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.site_a} ↔ {self.site_b}"

    @property
    def bandwidth_bps(self) -> float:
        """Bytes per second, the engine's unit."""
        return self.bandwidth_mbit * 1_000_000 / 8

    @property
    def rtt_s(self) -> float:
        return self.rtt_ms / 1000

    @property
    def loss(self) -> float:
        """Packet loss as a fraction (the engine's unit): 0.01 % is 0.0001."""
        return self.loss_percent / 100

    @property
    def mss_bytes(self) -> int:
        """TCP payload per segment: the MTU less the IPv4 and TCP headers."""
        return self.mtu_bytes - IP_TCP_HEADER_BYTES

    def other_site(self, site: Site) -> Site:
        return self.site_b if site.pk == self.site_a_id else self.site_a

    def clean(self) -> None:
        # A link joins two different sites.
        if self.site_a_id and self.site_a_id == self.site_b_id:
            raise ValidationError({"site_b": "A link joins two different sites."})
        # One link per pair, whichever way round it was entered.
        if self.site_a_id and self.site_b_id:
            reverse_pair = CloudLink.objects.filter(site_a_id=self.site_b_id, site_b_id=self.site_a_id)
            if reverse_pair.exclude(pk=self.pk).exists():
                raise ValidationError(
                    {"site_b": "These two sites are already linked (links are symmetric: one per pair)."}
                )
        # A link that loses every packet carries nothing: such a link is down, not slow.
        if self.loss_percent is not None and self.loss_percent >= 100:
            raise ValidationError(
                {"loss_percent": "A link that loses every packet carries nothing; keep it below 100 %."}
            )


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


class Datastore(models.Model):
    """Storage on one site, seen by some of its hosts. Names are unique per site."""

    name = models.CharField(max_length=100)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="datastores")
    kind = models.CharField(max_length=16, choices=DatastoreKind.choices, default=DatastoreKind.SHARED)
    capacity_bytes = models.BigIntegerField(validators=[MinValueValidator(GIB)])
    used_bytes = models.BigIntegerField(default=0, validators=[MinValueValidator(0)])
    hosts = models.ManyToManyField(Host, related_name="datastores", blank=True, help_text="Hosts that see it.")
    estate = models.ForeignKey(
        "inventory.Estate", null=True, blank=True, on_delete=models.PROTECT, related_name="datastores",
        help_text="The imported estate (vCenter) this came from; empty when entered by hand.",
    )  # fmt: skip

    class Meta:
        ordering = ["site__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "name"],
                name="datastore_unique_name_per_site",
                violation_error_message="A datastore with this name already exists on this site.",
            ),
            models.CheckConstraint(
                condition=Q(used_bytes__lte=models.F("capacity_bytes")),
                name="datastore_used_within_capacity",
                violation_error_message="Used space cannot exceed the datastore's capacity.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.site})"

    @property
    def free_bytes(self) -> int:
        return self.capacity_bytes - self.used_bytes


class NetworkSegment(models.Model):
    """A logical switch (overlay network) present on one or several sites. Stretched over two sites, it lets a
    workload keep its IP address when it moves between them. Names and overlay ids are unique."""

    name = models.CharField(max_length=100, unique=True)
    overlay_id = models.PositiveIntegerField(
        unique=True, validators=[MinValueValidator(1), MaxValueValidator(16_777_215)], help_text="VNI (24 bits)."
    )
    cidr = models.CharField(max_length=43, help_text="e.g. 10.20.0.0/16")
    gateway = models.GenericIPAddressField()
    sites = models.ManyToManyField(Site, related_name="segments", help_text="Sites the segment is present on.")
    estate = models.ForeignKey(
        "inventory.Estate", null=True, blank=True, on_delete=models.PROTECT, related_name="segments",
        help_text="The imported estate (vCenter) this came from; empty when entered by hand.",
    )  # fmt: skip
    external_id = models.CharField(
        max_length=300, blank=True, help_text="For an imported port group: its datacenter and name in the vCenter."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.cidr})"

    def get_absolute_url(self) -> str:
        return reverse("inventory:segment_detail", args=[self.pk])

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(self.cidr, strict=True)

    def clean(self) -> None:
        # The CIDR is a network address with a prefix length.
        try:
            network = ipaddress.ip_network(self.cidr, strict=True)
        except ValueError as exc:
            raise ValidationError({"cidr": f"'{self.cidr}' is not a network in CIDR form ({exc})."}) from None
        # The gateway lives inside the segment.
        if self.gateway and ipaddress.ip_address(self.gateway) not in network:
            raise ValidationError({"gateway": f"The gateway {self.gateway} is outside {self.cidr}."})


class Workload(models.Model):
    """A VM or a container-VM: one model for both peers. Names are unique among workloads entered here; imported
    workloads (an estate's) are identified by their VM UUID, unique within their estate, so two datacenters may
    each have a VM called "web01". An IP address (optional: a VM may report none) is unique on its segment, inside
    the segment's CIDR; the host, datastore and segment must all be reachable on one site."""

    name = models.CharField(max_length=128)
    kind = models.CharField(max_length=16, choices=WorkloadKind.choices, default=WorkloadKind.VM, db_index=True)
    vcpus = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    memory_bytes = models.BigIntegerField(validators=[MinValueValidator(2**20)])
    disk_bytes = models.BigIntegerField(validators=[MinValueValidator(0)])
    power_state = models.CharField(max_length=16, choices=PowerState.choices, default=PowerState.ON, db_index=True)
    host = models.ForeignKey(Host, on_delete=models.PROTECT, related_name="workloads")
    datastore = models.ForeignKey(Datastore, on_delete=models.PROTECT, related_name="workloads")
    segment = models.ForeignKey(NetworkSegment, on_delete=models.PROTECT, related_name="workloads")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    guest_os = models.CharField(max_length=100, blank=True)
    estate = models.ForeignKey(
        "inventory.Estate", null=True, blank=True, on_delete=models.PROTECT, related_name="workloads",
        help_text="The imported estate (vCenter) this came from; empty when entered by hand.",
    )  # fmt: skip
    external_id = models.CharField(
        max_length=64, blank=True, help_text="The VM's UUID in its vCenter, for an imported workload."
    )
    annotation = models.TextField(blank=True, help_text="Notes, e.g. vCenter's annotation of an imported VM.")
    disk_used_bytes = models.BigIntegerField(
        null=True, blank=True, validators=[MinValueValidator(0)], help_text="Disk space in use (thin disks)."
    )
    dirty_rate_bps = models.BigIntegerField(
        default=0, validators=[MinValueValidator(0)], help_text="Memory the guest dirties, bytes per second."
    )
    working_set_bytes = models.BigIntegerField(
        validators=[MinValueValidator(0)], help_text="Writable working set: at most this much memory is ever dirty."
    )
    disk_write_rate_bps = models.BigIntegerField(
        default=0,
        validators=[MinValueValidator(0)],
        help_text="Bytes per second the guest writes to its disk (mirrored during a storage move).",
    )
    tags = models.ManyToManyField("Tag", blank=True, related_name="workloads")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(estate__isnull=True),
                name="workload_unique_name_outside_estates",
                violation_error_message="A workload with this name already exists.",
            ),
            models.UniqueConstraint(
                fields=["estate", "external_id"],
                condition=~Q(external_id=""),
                name="workload_unique_external_id_per_estate",
                violation_error_message="A workload with this VM UUID already exists in this estate.",
            ),
            models.UniqueConstraint(
                fields=["segment", "ip_address"],
                name="workload_unique_ip_per_segment",
                violation_error_message="This IP address is already used on this segment.",
            ),
            models.CheckConstraint(
                condition=Q(working_set_bytes__lte=models.F("memory_bytes")),
                name="workload_working_set_within_memory",
                violation_error_message="The writable working set cannot be larger than the memory.",
            ),
        ]
        indexes = [
            models.Index(fields=["host", "power_state"], name="workload_host_power"),
            # The workloads page's sortable columns, each then by name (StableOrderingFilter), so a page of 50 of
            # 100,000 is read from an index instead of sorting the table.
            models.Index(fields=["name"], name="workload_name"),
            models.Index(fields=["kind", "name"], name="workload_kind_name"),
            models.Index(fields=["vcpus", "name"], name="workload_vcpus_name"),
            models.Index(fields=["memory_bytes", "name"], name="workload_memory_name"),
            models.Index(fields=["power_state", "name"], name="workload_power_name"),
            models.Index(fields=["ip_address", "name"], name="workload_ip_name"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("inventory:workload_detail", args=[self.pk])

    @property
    def is_container_vm(self) -> bool:
        return self.kind == WorkloadKind.CONTAINER_VM

    def clean(self) -> None:
        errors: dict[str, str] = {}
        host = self.host if self.host_id else None
        site = host.cluster.site if host else None
        # The IP address lies inside the segment's network.
        if self.segment_id and self.ip_address:
            try:
                network = ipaddress.ip_network(self.segment.cidr, strict=False)
                if ipaddress.ip_address(self.ip_address) not in network:
                    errors["ip_address"] = f"{self.ip_address} is outside segment {self.segment.name} ({network})."
                elif self.ip_address == self.segment.gateway:
                    errors["ip_address"] = f"{self.ip_address} is the gateway of segment {self.segment.name}."
            except ValueError:
                errors["ip_address"] = f"Segment {self.segment.name} has an invalid CIDR."
        # The datastore is on the host's site and the host sees it.
        if host and self.datastore_id:
            if self.datastore.site_id != site.pk:
                errors["datastore"] = (
                    f"Datastore {self.datastore.name} is on {self.datastore.site}, but host {host} is on {site}."
                )
            elif not self.datastore.hosts.filter(pk=host.pk).exists():
                errors["datastore"] = f"Host {host} does not see datastore {self.datastore.name}."
        # The segment is present on the host's site.
        if host and self.segment_id and not self.segment.sites.filter(pk=site.pk).exists():
            errors["segment"] = f"Segment {self.segment.name} is not present on {site}, where host {host} is."
        # The working set fits in memory.
        if self.working_set_bytes is not None and self.memory_bytes and self.working_set_bytes > self.memory_bytes:
            errors["working_set_bytes"] = "The writable working set cannot be larger than the memory."
        # The workload fits on its host: vCPUs within the host's (overcommitted) cores, memory never overcommitted.
        if host and self.vcpus and self.memory_bytes:
            if self.vcpus > host.cores:
                errors["vcpus"] = f"{self.vcpus} vCPUs is more than host {host}'s {host.cores} cores."
            if takes_room(self.power_state):
                # Counted as saved: the others on the host, and what is reserved there for anything but this one.
                others = Workload.objects.filter(host=host).exclude(pk=self.pk)
                used = usage_by(others, "host_id", "host_id", [host.pk])[host.pk].without_reservations_of(self.pk)
                if used.memory_bytes + self.memory_bytes > host.memory_bytes:
                    free_gib = max(host.memory_bytes - used.memory_bytes, 0) / GIB
                    errors["memory_bytes"] = (
                        f"Host {host} has {free_gib:.1f} GiB of memory free; this workload needs "
                        f"{self.memory_bytes / GIB:.1f} GiB."
                    )
                if used.vcpus + self.vcpus > host.vcpu_capacity:
                    errors["vcpus"] = (
                        f"Host {host} would run {used.vcpus + self.vcpus} vCPUs, more than its limit of "
                        f"{host.vcpu_capacity} ({CPU_OVERCOMMIT_RATIO}× its {host.cores} cores)."
                    )
        if errors:
            raise ValidationError(errors)


class Estate(models.Model):
    """One vCenter's estate, brought in (and kept up to date) by RVTools imports. Names are unique, and so is the
    vCenter's instance UUID when the export carries it: a later export of the same vCenter updates this estate.
    Everything imported links back here (`workloads`, `hosts`, `clusters`, `datastores`, `segments`)."""

    name = models.CharField(max_length=100, unique=True)
    vcenter = models.CharField(max_length=200, blank=True, help_text="The vCenter the export was taken from.")
    vcenter_uuid = models.CharField(max_length=64, blank=True, help_text="The vCenter's instance UUID, if exported.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["vcenter_uuid"],
                condition=~Q(vcenter_uuid=""),
                name="estate_unique_vcenter_uuid",
                violation_error_message="An estate of this vCenter already exists.",
            )
        ]

    def __str__(self) -> str:
        return self.name


class EstateDatacenter(models.Model):
    """Which site one datacenter of an estate was imported into; later imports of the estate reuse it."""

    estate = models.ForeignKey(Estate, on_delete=models.CASCADE, related_name="datacenters")
    name = models.CharField(max_length=200)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["estate__name", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["estate", "name"],
                name="estatedatacenter_unique_per_estate",
                violation_error_message="This datacenter is already mapped for this estate.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} → {self.site}"


class EstateImport(models.Model):
    """One run of the RVTools import. Its status moves draft (uploaded, sites not chosen yet) → queued → running →
    succeeded | refused | failed by
    conditional updates (a task delivered twice runs it once); `progress` (0-1) and `stage` are written as it goes;
    `summary` says what changed per kind; a refused file lists its first 50 problems in `errors` and counts all of
    them in `error_count`. Nothing is written to the inventory unless the whole file is valid."""

    estate = models.ForeignKey(Estate, null=True, blank=True, on_delete=models.SET_NULL, related_name="imports")
    estate_name = models.CharField(max_length=100, blank=True, help_text="Name for a new estate (optional).")
    file_name = models.CharField(max_length=255)
    file_size = models.BigIntegerField(default=0)
    status = models.CharField(
        max_length=16, choices=EstateImportStatus.choices, default=EstateImportStatus.DRAFT, db_index=True
    )
    progress = models.FloatField(default=0.0)
    stage = models.CharField(max_length=200, blank=True)
    site_choices = models.JSONField(
        default=dict, blank=True, help_text="Datacenter name → id of the existing site it goes to."
    )
    summary = models.JSONField(default=dict, blank=True)
    errors = models.JSONField(default=list, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token = models.CharField(max_length=32, blank=True, help_text="Lease of the worker running it.")
    holder = models.CharField(max_length=200, blank=True, help_text="host:pid of the worker process running it.")
    attempts = models.PositiveSmallIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Import {self.pk} of {self.file_name}"

    def get_absolute_url(self) -> str:
        return reverse("inventory:estate_import_detail", args=[self.pk])

    @property
    def finished(self) -> bool:
        return self.status in ESTATE_IMPORT_FINISHED


class EstateImportFile(models.Model):
    """The uploaded bytes of an import, kept in the database (any worker on any machine can read them) until the
    import has run."""

    estate_import = models.OneToOneField(
        EstateImport, on_delete=models.CASCADE, primary_key=True, related_name="upload"
    )
    content = models.BinaryField()

    def __str__(self) -> str:
        return f"Upload of import {self.estate_import_id}"


class Tag(models.Model):
    """A label on workloads and hosts (NetBox-style): a unique name and slug, and a colour as six hex digits."""

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    color = models.CharField(
        max_length=6,
        default="9e9e9e",
        validators=[RegexValidator(r"^[0-9a-f]{6}$", message="Enter a colour as six hex digits, e.g. 2f6a31.")],
        help_text="Six lower-case hex digits, e.g. 2f6a31.",
    )
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("inventory:workload_list") + f"?tag={self.slug}"

    @property
    def text_colour(self) -> str:
        """Black or white, whichever reads better on the tag's colour (relative luminance above one half: black)."""
        r, g, b = (int(self.color[i : i + 2], 16) / 255 for i in (0, 2, 4))
        return "000000" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.5 else "ffffff"


class PlacementRule(models.Model):
    """Where a set of workloads may run. Its members are the workloads tagged `workload_tag` plus `workloads`.
    Keep together: all members on one host (scope host) or one site (scope site). Keep apart: no two members on
    one host (or one site). Pin to a host group: members only on hosts tagged `host_tag`. A disabled rule binds
    nothing."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=PlacementRuleKind.choices)
    scope = models.CharField(
        max_length=8,
        choices=PlacementScope.choices,
        default=PlacementScope.HOST,
        help_text="Keep together / apart on hosts or on sites. A pin's scope is its host group.",
    )
    workload_tag = models.ForeignKey(
        Tag,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="workload_rules",
        help_text="Every workload with this tag is a member.",
    )
    workloads = models.ManyToManyField(
        Workload, blank=True, related_name="placement_rules", help_text="Members named one by one."
    )
    host_tag = models.ForeignKey(
        Tag,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="host_rules",
        help_text="Pin only: the host group, every host with this tag.",
    )
    enabled = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("placement_rules") + f"#rule-{self.pk}"

    def clean(self) -> None:
        # A pin needs its host group; keep rules have none.
        if self.kind == PlacementRuleKind.PIN_TO_HOSTS and self.host_tag_id is None:
            raise ValidationError({"host_tag": "A pin rule needs a host group: choose the tag of its hosts."})
        if self.kind != PlacementRuleKind.PIN_TO_HOSTS and self.host_tag_id is not None:
            raise ValidationError(
                {"host_tag": "Only a pin rule has a host group; keep-together and keep-apart rules do not."}
            )
        # A pin's hosts are its scope: "sites" would say something the rule does not do.
        if self.kind == PlacementRuleKind.PIN_TO_HOSTS and self.scope != PlacementScope.HOST:
            raise ValidationError({"scope": "A pin rule's scope is its host group: leave the scope at Hosts."})

    @staticmethod
    def members_error(*, workload_tag: Tag | None, workloads) -> str | None:
        """A rule needs members: a workload tag, or workloads named one by one (checked by the forms and the API,
        which see both before the many-to-many is saved)."""
        if workload_tag is None and not list(workloads or []):
            return "Choose the rule's members: a workload tag, or workloads one by one."
        return None
