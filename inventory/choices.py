"""Choices for inventory fields, each with the colour the pages use for it."""

from django.db import models


class SiteKind(models.TextChoices):
    PRIVATE = "private", "Private datacenter"
    PUBLIC = "public", "Public cloud region"

    @property
    def colour(self) -> str:
        return {"private": "indigo", "public": "teal"}[self.value]


class CpuVendor(models.TextChoices):
    INTEL = "intel", "Intel"
    AMD = "amd", "AMD"


class CpuBaseline(models.TextChoices):
    """An EVC-like CPU feature baseline. A workload may move to a cluster of the same vendor whose
    baseline is at least as new as the one it was started under."""

    INTEL_SKYLAKE = "intel-skylake", "Intel Skylake"
    INTEL_CASCADELAKE = "intel-cascadelake", "Intel Cascade Lake"
    INTEL_ICELAKE = "intel-icelake", "Intel Ice Lake"
    INTEL_SAPPHIRERAPIDS = "intel-sapphirerapids", "Intel Sapphire Rapids"
    AMD_ZEN2 = "amd-zen2", "AMD Zen 2 (Rome)"
    AMD_ZEN3 = "amd-zen3", "AMD Zen 3 (Milan)"
    AMD_ZEN4 = "amd-zen4", "AMD Zen 4 (Genoa)"

    @property
    def vendor(self) -> str:
        return self.value.split("-", 1)[0]

    @property
    def level(self) -> int:
        return BASELINE_LEVELS[self.value]


BASELINE_LEVELS = {
    "intel-skylake": 1,
    "intel-cascadelake": 2,
    "intel-icelake": 3,
    "intel-sapphirerapids": 4,
    "amd-zen2": 1,
    "amd-zen3": 2,
    "amd-zen4": 3,
}


class HostState(models.TextChoices):
    CONNECTED = "connected", "Connected"
    MAINTENANCE = "maintenance", "Maintenance"
    DOWN = "down", "Down"

    @property
    def colour(self) -> str:
        return {"connected": "green", "maintenance": "amber", "down": "red"}[self.value]


class DatastoreKind(models.TextChoices):
    SHARED = "shared", "Shared (SAN/NFS/vSAN)"
    LOCAL = "local", "Local disk"


class WorkloadKind(models.TextChoices):
    VM = "vm", "VM"
    CONTAINER_VM = "container_vm", "Container-VM"

    @property
    def colour(self) -> str:
        return {"vm": "indigo", "container_vm": "teal"}[self.value]


class PowerState(models.TextChoices):
    ON = "on", "Powered on"
    OFF = "off", "Powered off"
    SUSPENDED = "suspended", "Suspended"

    @property
    def colour(self) -> str:
        return {"on": "green", "off": "grey", "suspended": "amber"}[self.value]


# vCPUs may be overcommitted this many times over a host's physical cores; memory is never overcommitted.
CPU_OVERCOMMIT_RATIO = 4


class Hypervisor(models.TextChoices):
    """The hypervisor a host runs; it decides its migration stack's defaults (below) and, for KVM, that QEMU's own
    migration rules apply."""

    ESXI = "esxi", "VMware ESXi"
    KVM = "kvm", "KVM (QEMU)"


# Linux's default net.ipv4.tcp_rmem / tcp_wmem maximum: with stock settings no TCP socket grows past this.
LINUX_DEFAULT_TCP_BUFFER_BYTES = 6 * 2**20

# A host's migration stack out of the box. vSphere sizes vMotion's socket buffers to the path (empty = tuned to the
# bandwidth-delay product) and opens several streams; QEMU on Linux opens one stream whose buffer stops at
# tcp_rmem's maximum, encrypts with TLS in its migration thread and compresses (multifd zstd) on the host's CPU.
HYPERVISOR_MIGRATION_DEFAULTS: dict[str, dict[str, int | None]] = {
    Hypervisor.ESXI: {
        "migration_streams": 4,
        "migration_socket_buffer_bytes": None,
        "migration_cipher_rate_bps": 4_000_000_000,
        "migration_codec_rate_bps": None,
    },
    Hypervisor.KVM: {
        "migration_streams": 1,
        "migration_socket_buffer_bytes": LINUX_DEFAULT_TCP_BUFFER_BYTES,
        "migration_cipher_rate_bps": 500_000_000,
        "migration_codec_rate_bps": 500_000_000,
    },
}


class EstateImportStatus(models.TextChoices):
    DRAFT = "draft", "Waiting for sites"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Imported"
    REFUSED = "refused", "Refused"
    FAILED = "failed", "Failed"

    @property
    def colour(self) -> str:
        return {
            "draft": "grey",
            "queued": "grey",
            "running": "indigo",
            "succeeded": "green",
            "refused": "red",
            "failed": "red",
        }[self.value]


ESTATE_IMPORT_FINISHED = (EstateImportStatus.SUCCEEDED, EstateImportStatus.REFUSED, EstateImportStatus.FAILED)


class PlacementRuleKind(models.TextChoices):
    """What a placement rule asks of its member workloads."""

    KEEP_TOGETHER = "keep_together", "Keep together"
    KEEP_APART = "keep_apart", "Keep apart"
    PIN_TO_HOSTS = "pin_to_hosts", "Pin to a host group"

    @property
    def colour(self) -> str:
        return {"keep_together": "teal", "keep_apart": "amber", "pin_to_hosts": "indigo"}[self.value]


class PlacementScope(models.TextChoices):
    """Where keep-together and keep-apart look: the same host (or not), or the same site (or not)."""

    HOST = "host", "Hosts"
    SITE = "site", "Sites"
