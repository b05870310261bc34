"""`python manage.py seed_demo [--workloads N] [--seed S] [--reset]`: a realistic, deterministic hybrid cloud.

Two private datacenters (Santa Clara, California and Ashburn, Virginia) and two public cloud regions (AWS
us-west-2 in Oregon, Azure East US in Virginia), linked with real-world round-trip times and bandwidths;
clusters of several CPU generations; segments stretched across sites and local ones; VMs and container-VMs
(about one in four) with plausible names, sizes and memory dirty rates, every one placed within its host's
capacity with an IP inside its segment.

Extension point: after the inventory, the command runs `seed_containers` and then `seed_dr` if those
management commands exist (the containers and DR apps own them), passing `--seed`.
"""

from __future__ import annotations

import heapq
import ipaddress
import math
import random
import time
from dataclasses import dataclass

from django.apps import apps
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import ProtectedError

from hybridcloud.core.units import GIB
from inventory.choices import (
    CPU_OVERCOMMIT_RATIO,
    HYPERVISOR_MIGRATION_DEFAULTS,
    CpuBaseline,
    DatastoreKind,
    HostState,
    Hypervisor,
    PowerState,
    SiteKind,
)
from inventory.choices import WorkloadKind as Kind
from inventory.models import (
    CloudLink,
    Cluster,
    Datastore,
    Estate,
    Host,
    NetworkSegment,
    PlacementRule,
    Site,
    Tag,
    Workload,
)

MB = 1_000_000
TARGET_USE = 0.65  # hosts are sized so that workloads fill about this much of them
EXTENSION_COMMANDS = ("seed_containers", "seed_dr", "seed_capacity")

# name, kind, provider, region, location, latitude, longitude, share of the workloads
SITES = [
    ("California DC", SiteKind.PRIVATE, "On-premises", "", "Santa Clara, California", 37.354, -121.955, 0.36),
    ("Virginia DC", SiteKind.PRIVATE, "On-premises", "", "Ashburn, Virginia", 39.043, -77.487, 0.34),
    ("AWS us-west-2", SiteKind.PUBLIC, "AWS", "us-west-2", "Oregon (Boardman)", 45.84, -119.70, 0.15),
    ("Azure East US", SiteKind.PUBLIC, "Azure", "eastus", "Virginia (Boydton)", 36.67, -78.39, 0.15),
]

# site, site, Mbit/s, RTT ms, loss %, WAN compression ratio, MTU bytes. No direct link between the two clouds.
# Private lines (coast to coast, Direct Connect, ExpressRoute) lose nothing; internet VPNs to a public region lose
# 0.01-0.1 % of packets and carry a smaller MTU (IPsec's headers).
LINKS = [
    ("California DC", "Virginia DC", 10_000, 65.0, 0.0, 2.0, 1500),
    ("California DC", "AWS us-west-2", 5_000, 20.0, 0.0, 1.0, 1500),
    ("California DC", "Azure East US", 1_000, 68.0, 0.05, 1.0, 1400),
    ("Virginia DC", "Azure East US", 5_000, 2.0, 0.0, 1.0, 1500),
    ("Virginia DC", "AWS us-west-2", 2_000, 70.0, 0.02, 1.5, 1400),
]


@dataclass(frozen=True)
class ClusterSpec:
    site: str
    name: str
    baseline: str
    host_prefix: str
    cores: int
    ghz: float
    memory_gib: int
    nic_gbps: int
    share: float  # of the site's workloads
    hypervisor: str = Hypervisor.ESXI


CLUSTERS = [
    ClusterSpec("California DC", "sc-prod-a", CpuBaseline.INTEL_ICELAKE, "sc-esx-a", 64, 2.8, 768, 25, 0.45),
    ClusterSpec("California DC", "sc-prod-b", CpuBaseline.INTEL_CASCADELAKE, "sc-esx-b", 48, 2.6, 512, 10, 0.35),
    # An older KVM cluster with Linux's default socket buffers: over a long link its moves are window-bound.
    ClusterSpec(
        "California DC", "sc-legacy", CpuBaseline.INTEL_SKYLAKE, "sc-kvm-l", 32, 2.4, 384, 1, 0.20, Hypervisor.KVM
    ),
    ClusterSpec("Virginia DC", "ash-prod", CpuBaseline.INTEL_SAPPHIRERAPIDS, "ash-esx-p", 64, 3.0, 1024, 25, 0.6),
    ClusterSpec("Virginia DC", "ash-amd", CpuBaseline.AMD_ZEN4, "ash-kvm-z", 96, 2.75, 768, 25, 0.4, Hypervisor.KVM),
    ClusterSpec("AWS us-west-2", "usw2-metal", CpuBaseline.INTEL_ICELAKE, "usw2-i4i", 64, 3.5, 1024, 25, 1.0),
    ClusterSpec("Azure East US", "eastus-avs", CpuBaseline.INTEL_ICELAKE, "eastus-av36p", 36, 2.6, 768, 25, 1.0),
]

# name, CIDR, sites
SEGMENTS = [
    ("web-stretched", "10.10.0.0/16", ["California DC", "Virginia DC", "AWS us-west-2"]),
    ("app-stretched", "10.11.0.0/16", ["California DC", "Virginia DC"]),
    ("db-stretched", "10.12.0.0/16", ["California DC", "Virginia DC"]),
    ("dr-stretched", "10.13.0.0/16", ["Virginia DC", "Azure East US"]),
    ("ctr-overlay", "10.40.0.0/16", ["California DC", "Virginia DC", "AWS us-west-2"]),
    ("sc-local", "10.20.0.0/16", ["California DC"]),
    ("ash-local", "10.30.0.0/16", ["Virginia DC"]),
    ("usw2-vpc", "172.31.0.0/16", ["AWS us-west-2"]),
    ("eastus-vnet", "10.50.0.0/16", ["Azure East US"]),
]


@dataclass(frozen=True)
class Role:
    """A kind of workload: its names, guest OSes, sizes, memory and disk behaviour and preferred networks."""

    prefix: str
    kind: str
    weight: float
    guest_os: tuple[str, ...]
    memory_gib: tuple[tuple[float, float], ...]  # (GiB, weight)
    dirty_mb: tuple[float, float]  # dirty rate range, MB/s
    segments: tuple[str, ...]
    heavy_writer: float = 0.0  # chance of 100-200 MB/s
    disk_write_mb: tuple[float, float] = (0.2, 5)  # disk write rate range, MB/s (mirrored during a storage move)


LINUX = ("Ubuntu 22.04 LTS", "Ubuntu 24.04 LTS", "Red Hat Enterprise Linux 9", "Debian 12", "Rocky Linux 9")
WINDOWS = ("Windows Server 2022", "Windows Server 2019")
CTR_OS = ("Photon OS 5 (container runtime)", "Flatcar Container Linux", "Bottlerocket 1.20")
SMALL = ((1, 25), (2, 35), (4, 30), (8, 10))
MEDIUM = ((2, 15), (4, 35), (8, 30), (16, 15), (32, 5))
LARGE = ((8, 20), (16, 35), (32, 30), (64, 15))
CTR = ((1, 45), (2, 35), (4, 20))

ROLES = [
    Role("web-frontend", Kind.VM, 14, LINUX, SMALL, (2, 20), ("web-stretched",)),
    Role("api-gateway", Kind.VM, 6, LINUX, MEDIUM, (5, 30), ("app-stretched", "web-stretched")),
    Role("app-server", Kind.VM, 12, LINUX + WINDOWS, MEDIUM, (5, 40), ("app-stretched",)),
    Role(
        "pg-primary",
        Kind.VM,
        3,
        ("Red Hat Enterprise Linux 9", "Ubuntu 22.04 LTS"),
        LARGE,
        (30, 90),
        ("db-stretched",),
        0.35,
        (10, 60),
    ),
    Role(
        "pg-replica",
        Kind.VM,
        4,
        ("Red Hat Enterprise Linux 9", "Ubuntu 22.04 LTS"),
        LARGE,
        (20, 70),
        ("db-stretched",),
        0.15,
        (5, 40),
    ),
    Role(
        "mssql", Kind.VM, 2, ("Windows Server 2022",), LARGE, (20, 80), ("db-stretched", "dr-stretched"), 0.3, (10, 60)
    ),
    Role("redis-cache", Kind.VM, 4, ("Debian 12",), MEDIUM, (40, 120), ("app-stretched",), 0.3, (1, 10)),
    Role("kafka-broker", Kind.VM, 3, ("Ubuntu 22.04 LTS",), LARGE, (50, 150), ("app-stretched",), 0.4, (20, 60)),
    Role("elastic-data", Kind.VM, 3, ("Rocky Linux 9",), LARGE, (20, 80), ("app-stretched",), 0.2, (10, 60)),
    Role("ad-dc", Kind.VM, 2, WINDOWS, SMALL, (1, 5), ("sc-local", "ash-local", "eastus-vnet")),
    Role("jenkins-agent", Kind.VM, 5, LINUX, MEDIUM, (10, 60), ("sc-local", "ash-local", "usw2-vpc"), 0.0, (5, 40)),
    Role(
        "batch-worker", Kind.VM, 6, LINUX, MEDIUM, (10, 50), ("usw2-vpc", "eastus-vnet", "app-stretched"), 0.0, (10, 80)
    ),
    Role("file-server", Kind.VM, 2, WINDOWS, MEDIUM, (2, 15), ("sc-local", "ash-local", "dr-stretched"), 0.0, (1, 20)),
    Role(
        "monitoring",
        Kind.VM,
        2,
        LINUX,
        MEDIUM,
        (5, 25),
        ("sc-local", "ash-local", "usw2-vpc", "eastus-vnet"),
        0.0,
        (2, 15),
    ),
    Role("checkout-svc", Kind.CONTAINER_VM, 5, CTR_OS, CTR, (3, 25), ("ctr-overlay",)),
    Role("cart-api", Kind.CONTAINER_VM, 5, CTR_OS, CTR, (3, 25), ("ctr-overlay",)),
    Role("image-resizer", Kind.CONTAINER_VM, 4, CTR_OS, CTR, (10, 60), ("ctr-overlay", "usw2-vpc"), 0.0, (1, 10)),
    Role("search-indexer", Kind.CONTAINER_VM, 3, CTR_OS, CTR, (20, 80), ("ctr-overlay",), 0.1, (10, 60)),
    Role("notify-worker", Kind.CONTAINER_VM, 4, CTR_OS, CTR, (2, 15), ("ctr-overlay", "eastus-vnet", "dr-stretched")),
    Role("auth-svc", Kind.CONTAINER_VM, 4, CTR_OS, CTR, (2, 20), ("ctr-overlay", "dr-stretched")),
]
DISK_GIB = ((20, 20), (40, 30), (60, 20), (100, 15), (200, 10), (500, 5))
POWER = ((PowerState.ON, 88), (PowerState.OFF, 9), (PowerState.SUSPENDED, 3))


def pick(rng: random.Random, weighted: tuple[tuple, ...] | list[tuple]):
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights)[0]


@dataclass
class PlannedWorkload:
    name: str
    role: Role
    site: str
    cluster: str
    segment: str
    vcpus: int
    memory: int
    disk: int
    power: str
    guest_os: str
    dirty: int
    working_set: int
    disk_write: int


# Models of other apps that refer to the inventory, deleted (in this order) by --reset when installed.
DEPENDENT_MODELS = (
    "dr.RecoveryPlan",
    "capacity.Evacuation",
    "capacity.Recommendation",
    "migration.Migration",
    "containers.ContainerCluster",
    "containers.ContainerSpec",
    "containers.ContainerHost",
    "containers.Image",
)


class Command(BaseCommand):
    help = "Seeds a realistic, deterministic demo hybrid cloud (4 sites, links, clusters, hosts, workloads)."

    def add_arguments(self, parser):
        parser.add_argument("--workloads", type=int, default=300, help="How many workloads (default 300).")
        parser.add_argument("--seed", type=int, default=42, help="Random seed: the same seed gives the same cloud.")
        parser.add_argument("--reset", action="store_true", help="Wipe the existing inventory first.")
        parser.add_argument("--no-extensions", action="store_true", help="Do not run seed_containers / seed_dr.")

    def handle(self, *args, workloads: int, seed: int, reset: bool, no_extensions: bool, **options):
        if workloads < 0:
            raise CommandError("--workloads must be 0 or more.")
        started = time.monotonic()
        if Site.objects.exists() or Workload.objects.exists():
            if not reset:
                raise CommandError(
                    f"The inventory already has data ({Site.objects.count()} sites, {Workload.objects.count()} "
                    "workloads). Run `seed_demo --reset` to wipe the inventory and seed again."
                )
            self.wipe()
        with transaction.atomic():
            summary = self.seed(workloads, random.Random(seed), random.Random(f"disk-writes-{seed}"))
        self.stdout.write(
            self.style.SUCCESS(f"Seeded the demo hybrid cloud (seed {seed}) in {time.monotonic() - started:.1f} s:")
        )
        for line in summary:
            self.stdout.write("  " + line)
        if not no_extensions:
            available = get_commands()
            for name in EXTENSION_COMMANDS:
                if name in available:
                    self.stdout.write(f"Running {name} --seed {seed} ...")
                    call_command(name, seed=seed, stdout=self.stdout, stderr=self.stderr)

    def wipe(self) -> None:
        try:
            with transaction.atomic():
                # Other apps' records that point at the inventory go first: DR plans (and their schedules),
                # migrations, evacuations and recommendations, containers.
                for label in DEPENDENT_MODELS:
                    try:
                        model = apps.get_model(label)
                    except LookupError:
                        continue
                    if label == "dr.RecoveryPlan":
                        PeriodicTask = apps.get_model("django_celery_beat.PeriodicTask")
                        PeriodicTask.objects.filter(pk__in=model.objects.values("schedule")).delete()
                    model.objects.all().delete()
                # Imported estates (their datacenter → site map) go once their workloads, hosts... have gone.
                for model in (Workload, Datastore, NetworkSegment, Host, Cluster, Estate, CloudLink, Site):
                    model.objects.all().delete()
        except ProtectedError as exc:
            blockers = sorted({str(obj._meta.verbose_name_plural) for obj in exc.protected_objects})
            raise CommandError(
                f"Cannot wipe the inventory: other records still point at it ({', '.join(blockers)}). "
                "Delete those first."
            ) from None
        self.stdout.write("Wiped the existing inventory.")

    # -- planning (pure, deterministic) ------------------------------------------------------------------------

    def plan_workloads(self, count: int, rng: random.Random, write_rng: random.Random) -> list[PlannedWorkload]:
        """The workloads to create. Disk write rates come from their own stream (`write_rng`) so that every other
        field of a seed's cloud stays as it was before workloads had a disk write rate."""
        segment_sites = {name: set(sites) for name, _, sites in SEGMENTS}
        local_segment = {"California DC": "sc-local", "Virginia DC": "ash-local", "AWS us-west-2": "usw2-vpc",
                         "Azure East US": "eastus-vnet"}  # fmt: skip
        site_weights = [(s[0], s[7]) for s in SITES]
        role_weights = [(role, role.weight) for role in ROLES]
        counters: dict[str, int] = {}
        planned = []
        for _ in range(count):
            role = pick(rng, role_weights)
            site = pick(rng, site_weights)
            cluster = pick(rng, [(c.name, c.share) for c in CLUSTERS if c.site == site])
            candidates = [seg for seg in role.segments if site in segment_sites[seg]]
            segment = rng.choice(candidates) if candidates else local_segment[site]
            counters[role.prefix] = counters.get(role.prefix, 0) + 1
            memory_gib = pick(rng, role.memory_gib)
            memory = int(memory_gib * GIB)
            vcpus = max(1, min(32, int(memory_gib // 4) or 1) * rng.choice((1, 1, 2)))
            vcpus = min(vcpus, 32)
            if rng.random() < role.heavy_writer:
                dirty = rng.uniform(100, 200) * MB
            else:
                low, high = role.dirty_mb
                dirty = math.exp(rng.uniform(math.log(low), math.log(high))) * MB
            working_set = int(memory * rng.uniform(0.1, 0.6))
            low, high = role.disk_write_mb
            disk_write = int(math.exp(write_rng.uniform(math.log(low), math.log(high))) * MB)
            planned.append(
                PlannedWorkload(
                    name=f"{role.prefix}-{counters[role.prefix]:02d}", role=role, site=site, cluster=cluster,
                    segment=segment, vcpus=vcpus, memory=memory, disk=pick(rng, DISK_GIB) * GIB,
                    power=pick(rng, POWER), guest_os=rng.choice(role.guest_os), dirty=int(dirty),
                    working_set=working_set, disk_write=disk_write,
                )
            )  # fmt: skip
        return planned

    @staticmethod
    def hosts_needed(spec: ClusterSpec, planned: list[PlannedWorkload]) -> tuple[int, int]:
        """How many hosts and how much memory each (GiB) so that the cluster's workloads fill about 65 % of memory
        and at most 65 % of vCPUs: the spec's hosts for a big cloud, smaller ones (at least two) for a small demo."""
        memory = sum(p.memory for p in planned)
        vcpus = sum(p.vcpus for p in planned)
        by_memory = memory / (spec.memory_gib * GIB * TARGET_USE)
        by_vcpus = vcpus / (spec.cores * CPU_OVERCOMMIT_RATIO * TARGET_USE)
        count = max(2, math.ceil(max(by_memory, by_vcpus)))
        per_host_gib = math.ceil(memory / count / TARGET_USE / GIB / 64) * 64
        return count, min(spec.memory_gib, max(128, per_host_gib))

    # -- writing -----------------------------------------------------------------------------------------------

    def seed(self, count: int, rng: random.Random, write_rng: random.Random) -> list[str]:
        sites = {}
        for name, kind, provider, region, location, lat, lon, _share in SITES:
            sites[name] = Site.objects.create(
                name=name, kind=kind, provider=provider, region=region, location=location, latitude=lat, longitude=lon,
                description=f"{SiteKind(kind).label} in {location}.",
            )  # fmt: skip
        for a, b, mbit, rtt, loss, ratio, mtu in LINKS:
            CloudLink.objects.create(
                site_a=sites[a], site_b=sites[b], bandwidth_mbit=mbit, rtt_ms=rtt, loss_percent=loss,
                compression_ratio=ratio, encrypted=True, mtu_bytes=mtu,
            )  # fmt: skip
        segments = {}
        for overlay, (name, cidr, site_names) in enumerate(SEGMENTS, start=5001):
            network = ipaddress.ip_network(cidr)
            segments[name] = NetworkSegment.objects.create(
                name=name, overlay_id=overlay, cidr=cidr, gateway=str(network.network_address + 1)
            )
            segments[name].sites.set([sites[s] for s in site_names])

        planned = self.plan_workloads(count, rng, write_rng)
        by_cluster: dict[str, list[PlannedWorkload]] = {c.name: [] for c in CLUSTERS}
        for p in planned:
            by_cluster[p.cluster].append(p)

        clusters, hosts, host_specs, host_memory = {}, [], {}, {}
        for spec in CLUSTERS:
            cluster = Cluster.objects.create(
                site=sites[spec.site],
                name=spec.name,
                cpu_vendor=spec.baseline.split("-")[0],
                cpu_baseline=spec.baseline,
            )
            clusters[spec.name] = cluster
            count, memory_gib = self.hosts_needed(spec, by_cluster[spec.name])
            host_memory[spec.name] = memory_gib * GIB
            for i in range(1, count + 1):
                hosts.append(
                    Host(
                        cluster=cluster, name=f"{spec.host_prefix}-{i:02d}", cores=spec.cores, ghz=spec.ghz,
                        memory_bytes=memory_gib * GIB, migration_nic_gbps=spec.nic_gbps, hypervisor=spec.hypervisor,
                        **HYPERVISOR_MIGRATION_DEFAULTS[spec.hypervisor],
                    )
                )  # fmt: skip
            host_specs[spec.name] = spec
        # One spare host in maintenance in California and one down in Virginia: they take no workloads.
        spare = {"sc-prod-b": HostState.MAINTENANCE, "ash-amd": HostState.DOWN}
        for cluster_name, state in spare.items():
            spec = host_specs[cluster_name]
            hosts.append(
                Host(
                    cluster=clusters[cluster_name], name=f"{spec.host_prefix}-spare", cores=spec.cores, ghz=spec.ghz,
                    memory_bytes=host_memory[cluster_name], migration_nic_gbps=spec.nic_gbps, state=state,
                    hypervisor=spec.hypervisor, **HYPERVISOR_MIGRATION_DEFAULTS[spec.hypervisor],
                )
            )  # fmt: skip
        Host.objects.bulk_create(hosts, batch_size=500)
        hosts = list(Host.objects.select_related("cluster").order_by("pk"))
        hosts_by_cluster: dict[str, list[Host]] = {}
        for host in hosts:
            hosts_by_cluster.setdefault(host.cluster.name, []).append(host)

        # Storage: one vSAN per cluster (its hosts) and one NFS array per private site (all its hosts).
        datastore_rows: list[tuple[Datastore, list[Host]]] = []
        for spec in CLUSTERS:
            ds = Datastore(
                site=sites[spec.site], name=f"{spec.name}-vsan", kind=DatastoreKind.SHARED, capacity_bytes=GIB
            )
            datastore_rows.append((ds, hosts_by_cluster[spec.name]))
        for site_name, nfs_name in (("California DC", "sc-nfs-01"), ("Virginia DC", "ash-nfs-01")):
            site_hosts = [h for h in hosts if h.cluster.site_id == sites[site_name].pk]
            datastore_rows.append(
                (
                    Datastore(site=sites[site_name], name=nfs_name, kind=DatastoreKind.SHARED, capacity_bytes=GIB),
                    site_hosts,
                )
            )
        vsan = {ds.name.removesuffix("-vsan"): ds for ds, _ in datastore_rows if ds.name.endswith("-vsan")}
        nfs = {ds.site.name: ds for ds, _ in datastore_rows if ds.name.endswith("-nfs-01")}

        # Placement: each workload on the least-loaded connected host of its cluster (by free memory).
        heaps: dict[str, list] = {}
        for name, cluster_hosts in hosts_by_cluster.items():
            heaps[name] = [(-h.memory_bytes, h.pk, h) for h in cluster_hosts if h.state == HostState.CONNECTED]
            heapq.heapify(heaps[name])
        free_vcpus = {h.pk: h.vcpu_capacity for h in hosts}
        used_disk: dict[str, int] = {}
        next_ip = {name: ipaddress.ip_network(cidr).network_address + 10 for name, cidr, _ in SEGMENTS}
        rows = []
        for p in planned:
            heap = heaps[p.cluster]
            neg_free, pk, host = heapq.heappop(heap)
            if -neg_free < p.memory or free_vcpus[pk] < p.vcpus:  # hosts_needed() leaves headroom
                raise CommandError(f"Placement failed for {p.name} in {p.cluster}; this is a bug in seed_demo.")
            heapq.heappush(heap, (neg_free + p.memory, pk, host))
            free_vcpus[pk] -= p.vcpus
            datastore = nfs[p.site] if p.site in nfs and rng.random() < 0.3 else vsan[p.cluster]
            used_disk[datastore.name] = used_disk.get(datastore.name, 0) + p.disk
            ip = next_ip[p.segment]
            next_ip[p.segment] = ip + 1
            rows.append((p, host, datastore, str(ip)))

        for ds, _ in datastore_rows:
            used = used_disk.get(ds.name, 0)
            ds.used_bytes = used
            # Round capacity up to whole TiB, with room to grow (about 60 % full).
            ds.capacity_bytes = max(20, math.ceil(used / 0.6 / (1024 * GIB)) * 20) * 1024 * GIB // 20
        Datastore.objects.bulk_create([ds for ds, _ in datastore_rows])
        created = {ds.name: ds for ds in Datastore.objects.all()}
        Through = Datastore.hosts.through
        Through.objects.bulk_create(
            [
                Through(datastore_id=created[ds.name].pk, host_id=h.pk)
                for ds, ds_hosts in datastore_rows
                for h in ds_hosts
            ],
            batch_size=2000,
        )

        Workload.objects.bulk_create(
            [
                Workload(
                    name=p.name, kind=p.role.kind, vcpus=p.vcpus, memory_bytes=p.memory, disk_bytes=p.disk,
                    power_state=p.power, host=host, datastore=created[datastore.name], segment=segments[p.segment],
                    ip_address=ip, guest_os=p.guest_os, dirty_rate_bps=p.dirty, working_set_bytes=p.working_set,
                    disk_write_rate_bps=p.disk_write,
                )
                for p, host, datastore, ip in rows
            ],
            batch_size=1000,
        )  # fmt: skip

        tags, rules = self.seed_tags_and_rules()
        kinds = {k: sum(1 for p in planned if p.role.kind == k) for k in Kind.values}
        heavy = sum(1 for p in planned if p.dirty >= 100 * MB)
        return [
            f"{len(sites)} sites, {len(LINKS)} links, {len(SEGMENTS)} segments "
            f"({sum(1 for s in SEGMENTS if len(s[2]) > 1)} stretched)",
            f"{len(clusters)} clusters, {len(hosts)} hosts, {len(datastore_rows)} datastores",
            f"{len(planned)} workloads: {kinds[Kind.VM]} VMs, {kinds[Kind.CONTAINER_VM]} container-VMs, "
            f"{heavy} heavy writers (≥ 100 MB/s)",
            f"{tags} tags, {rules} placement rules",
        ]

    def seed_tags_and_rules(self) -> tuple[int, int]:
        """A few tags and placement rules: the PostgreSQL servers and the Kafka brokers kept apart on hosts, SQL
        Server pinned to the hosts it runs on (its licence). Tags left from an earlier cloud go first (rules first:
        they protect their tags)."""
        PlacementRule.objects.all().delete()
        Tag.objects.all().delete()
        db = Tag.objects.create(name="db replicas", slug="db-replicas", color="aa1409", description="PostgreSQL")
        kafka = Tag.objects.create(name="kafka", slug="kafka", color="1f6feb")
        pci = Tag.objects.create(name="PCI", slug="pci", color="ffd33d", description="In PCI DSS scope")
        licensed = Tag.objects.create(name="mssql licensed", slug="mssql-licensed", color="6f42c1")
        for tag, prefix in ((db, "pg-"), (kafka, "kafka-"), (pci, "mssql-")):
            tag.workloads.add(*Workload.objects.filter(name__startswith=prefix))
        licensed.hosts.add(*Host.objects.filter(workloads__name__startswith="mssql-").distinct())
        rules = [
            PlacementRule(name="db-replicas", kind="keep_apart", workload_tag=db,
                          description="Two PostgreSQL servers never share a host."),
            PlacementRule(name="kafka-brokers", kind="keep_apart", workload_tag=kafka,
                          description="Losing a host loses at most one broker."),
            PlacementRule(name="mssql-licence", kind="pin_to_hosts", workload_tag=pci, host_tag=licensed,
                          description="SQL Server only on the licensed hosts."),
        ]  # fmt: skip
        for rule in rules:
            rule.full_clean()
        PlacementRule.objects.bulk_create(rules)
        return 4, len(rules)
