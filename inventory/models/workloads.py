"""Workloads: VMs and container-VMs, one model for both peers."""

import ipaddress

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from hybridcloud.core.units import format_bytes
from inventory.choices import (
    CPU_OVERCOMMIT_RATIO,
    PowerState,
    WorkloadKind,
)
from inventory.models.compute import Host
from inventory.models.network import NetworkSegment
from inventory.models.storage import Datastore
from inventory.usage import takes_room, usage_by


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
                    free = format_bytes(max(host.memory_bytes - used.memory_bytes, 0))
                    errors["memory_bytes"] = (
                        f"Host {host} has {free} of memory free; this workload needs {format_bytes(self.memory_bytes)}."
                    )
                if used.vcpus + self.vcpus > host.vcpu_capacity:
                    errors["vcpus"] = (
                        f"Host {host} would run {used.vcpus + self.vcpus} vCPUs, more than its limit of "
                        f"{host.vcpu_capacity} ({CPU_OVERCOMMIT_RATIO}× its {host.cores} cores)."
                    )
        if errors:
            raise ValidationError(errors)
