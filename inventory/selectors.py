"""Read paths of the inventory. Pages and the API read through these; each runs a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.shortcuts import get_object_or_404

from inventory.choices import CPU_OVERCOMMIT_RATIO, HostState, PowerState, WorkloadKind
from inventory.models import CloudLink, Cluster, Datastore, Host, NetworkSegment, Site, Tag, Workload
from inventory.usage import RUNNING, UsageByKey, running_sums, usage_by

# -- workloads ------------------------------------------------------------------------------------------------------


def workload_queryset() -> QuerySet[Workload]:
    """Every workload with what a row of the workloads table shows, in one query (no per-row queries)."""
    return Workload.objects.select_related("host__cluster__site", "segment").only(
        "id", "name", "kind", "vcpus", "memory_bytes", "power_state", "ip_address",
        "host__id", "host__name", "host__cluster__id", "host__cluster__site__id", "host__cluster__site__name",
        "segment__id", "segment__name",
    )  # fmt: skip


# What a row of the workloads page shows, read as plain values (no model instances for a page of rows).
WORKLOAD_ROW_FIELDS = (
    "id", "name", "kind", "vcpus", "memory_bytes", "power_state", "ip_address", "host_id", "host__name",
    "host__cluster__site_id", "host__cluster__site__name", "segment_id", "segment__name",
)  # fmt: skip


def workload_rows(queryset: QuerySet[Workload]) -> QuerySet:
    """A (filtered, ordered) workload queryset as dicts of WORKLOAD_ROW_FIELDS, one query for a page of them."""
    return queryset.values(*WORKLOAD_ROW_FIELDS)


# The CSV export's columns: (header, field), in order.
WORKLOAD_EXPORT_COLUMNS = (
    ("name", "name"), ("kind", "kind"), ("site", "host__cluster__site__name"), ("host", "host__name"),
    ("ip_address", "ip_address"), ("segment", "segment__name"), ("vcpus", "vcpus"), ("memory_bytes", "memory_bytes"),
    ("disk_bytes", "disk_bytes"), ("power_state", "power_state"), ("guest_os", "guest_os"),
    ("dirty_rate_bps", "dirty_rate_bps"), ("working_set_bytes", "working_set_bytes"),
    ("disk_write_rate_bps", "disk_write_rate_bps"),
)  # fmt: skip


def workload_export_rows(queryset: QuerySet[Workload]):
    """Rows for the CSV export of a (filtered, ordered) workload queryset, read in chunks."""
    fields = [field for _, field in WORKLOAD_EXPORT_COLUMNS]
    return queryset.values_list(*fields).iterator(chunk_size=2000)


def workload_get(pk: int) -> Workload:
    return get_object_or_404(
        Workload.objects.select_related("host__cluster__site", "segment", "datastore__site", "estate"), pk=pk
    )


def workload_counts_by_kind() -> dict[str, int]:
    counts = dict(Workload.objects.order_by().values_list("kind").annotate(n=Count("id")))
    return {kind: counts.get(kind, 0) for kind in WorkloadKind.values}


def workload_counts_by_power_state() -> dict[str, int]:
    counts = dict(Workload.objects.order_by().values_list("power_state").annotate(n=Count("id")))
    return {state: counts.get(state, 0) for state in PowerState.values}


def workload_recent_changes(limit: int = 8) -> list[Workload]:
    """The most recently created or changed workloads (the inventory's own recent activity)."""
    return list(
        Workload.objects.select_related("host__cluster__site")
        .only(
            "id", "name", "kind", "power_state", "updated_at", "created_at", "host__name", "host__cluster__site__name"
        )
        .order_by("-updated_at", "-pk")[:limit]
    )


def filter_choices() -> dict[str, list]:
    """Options for the workloads filters: (id, label) pairs, three small queries."""
    return {
        "sites": list(Site.objects.values_list("id", "name")),
        "hosts": list(Host.objects.order_by("name").values_list("id", "name")),
        "segments": list(NetworkSegment.objects.order_by("name").values_list("id", "name")),
    }


# -- hosts ----------------------------------------------------------------------------------------------------------


def host_usage(hosts=None) -> UsageByKey:
    """{host id: `Usage`} of `hosts` (ids, Host instances or a Host queryset; None: every host), by the one rule in
    `inventory.usage`: running workloads in one aggregate query, plus registered reservations (live migrations on
    their way). A host with nothing on it reads as an empty Usage."""
    if hosts is None:
        return usage_by(Workload.objects.all(), "host_id", "host_id")
    if not isinstance(hosts, QuerySet):
        hosts = [getattr(h, "pk", h) for h in hosts]
    return usage_by(Workload.objects.filter(host__in=hosts), "host_id", "host_id", hosts)


def site_usage(sites=None) -> UsageByKey:
    """{site id: `Usage`} of `sites` (ids or Site instances; None: every site), by the same rule as `host_usage`."""
    if sites is None:
        return usage_by(Workload.objects.all(), "host__cluster__site_id", "site_id")
    ids = [getattr(s, "pk", s) for s in sites]
    workloads = Workload.objects.filter(host__cluster__site_id__in=ids)
    return usage_by(workloads, "host__cluster__site_id", "site_id", Host.objects.filter(cluster__site_id__in=ids))


def host_usage_queryset() -> QuerySet[Host]:
    """Hosts annotated with what their running workloads use (`used_vcpus`, `used_memory_bytes`: sortable in SQL)
    and how many workloads they carry."""
    return (
        Host.objects.select_related("cluster__site")
        .prefetch_related("tags")
        .annotate(**running_sums("workloads__"), workload_count=Count("workloads"))
    )


def host_get(pk: int) -> Host:
    return get_object_or_404(host_usage_queryset(), pk=pk)


def host_workloads(host: Host) -> list[Workload]:
    return list(
        Workload.objects.filter(host=host)
        .select_related("segment")
        .only(
            "id", "name", "kind", "vcpus", "memory_bytes", "power_state", "ip_address", "segment__id", "segment__name"
        )
    )


def host_counts_by_state() -> dict[str, int]:
    counts = dict(Host.objects.order_by().values_list("state").annotate(n=Count("id")))
    return {state: counts.get(state, 0) for state in HostState.values}


# -- sites ----------------------------------------------------------------------------------------------------------


@dataclass
class SiteCapacity:
    """What a site has and what its powered-on workloads use: vCPUs (cores × overcommit), memory, storage."""

    site: Site
    hosts: int = 0
    workloads: int = 0
    vcpu_capacity: int = 0
    vcpus_used: int = 0
    memory_bytes: int = 0
    memory_used_bytes: int = 0
    storage_bytes: int = 0
    storage_used_bytes: int = 0
    kinds: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def _percent(used: int, total: int) -> float:
        return round(100 * used / total, 1) if total else 0.0

    @property
    def vcpu_percent(self) -> float:
        return self._percent(self.vcpus_used, self.vcpu_capacity)

    @property
    def memory_percent(self) -> float:
        return self._percent(self.memory_used_bytes, self.memory_bytes)

    @property
    def storage_percent(self) -> float:
        return self._percent(self.storage_used_bytes, self.storage_bytes)


def site_capacities(site_id: int | None = None) -> list[SiteCapacity]:
    """Capacity and use per site, in four grouped queries whatever the number of sites, hosts or workloads."""
    sites = Site.objects.all() if site_id is None else Site.objects.filter(pk=site_id)
    result = {site.pk: SiteCapacity(site=site) for site in sites}
    hosts = (
        Host.objects.order_by()
        .values("cluster__site")
        .annotate(n=Count("id"), cores=Sum("cores"), mem=Sum("memory_bytes"))
    )
    for row in hosts:
        if (cap := result.get(row["cluster__site"])) is not None:
            cap.hosts, cap.vcpu_capacity, cap.memory_bytes = row["n"], row["cores"] * CPU_OVERCOMMIT_RATIO, row["mem"]
    workloads = (
        Workload.objects.order_by()
        .values("host__cluster__site", "kind")
        .annotate(
            n=Count("id"),
            vcpus=Sum("vcpus", filter=RUNNING, default=0),
            mem=Sum("memory_bytes", filter=RUNNING, default=0),
        )
    )
    for row in workloads:
        if (cap := result.get(row["host__cluster__site"])) is not None:
            cap.workloads += row["n"]
            cap.kinds[row["kind"]] = row["n"]
            cap.vcpus_used += row["vcpus"]
            cap.memory_used_bytes += row["mem"]
    storage = Datastore.objects.order_by().values("site").annotate(cap=Sum("capacity_bytes"), used=Sum("used_bytes"))
    for row in storage:
        if (cap := result.get(row["site"])) is not None:
            cap.storage_bytes, cap.storage_used_bytes = row["cap"], row["used"]
    return list(result.values())


def site_list() -> list[SiteCapacity]:
    return site_capacities()


def site_get(pk: int) -> Site:
    return get_object_or_404(Site, pk=pk)


def site_clusters(site: Site) -> list[Cluster]:
    return list(
        Cluster.objects.filter(site=site).annotate(
            host_count=Count("hosts", distinct=True), workload_count=Count("hosts__workloads", distinct=True)
        )
    )


def site_hosts(site: Site) -> list[Host]:
    return list(host_usage_queryset().filter(cluster__site=site))


def site_datastores(site: Site) -> list[Datastore]:
    return list(Datastore.objects.filter(site=site).annotate(host_count=Count("hosts")))


def site_segments(site: Site) -> list[NetworkSegment]:
    return list(
        NetworkSegment.objects.filter(sites=site).prefetch_related(
            Prefetch("sites", queryset=Site.objects.only("id", "name"))
        )
    )


def link_between(a: Site | int, b: Site | int) -> CloudLink | None:
    """The link between two sites (sites or their ids; links are symmetric, so either order), with both sites."""
    a_id, b_id = getattr(a, "pk", a), getattr(b, "pk", b)
    return (
        CloudLink.objects.filter(Q(site_a_id=a_id, site_b_id=b_id) | Q(site_a_id=b_id, site_b_id=a_id))
        .select_related("site_a", "site_b")
        .first()
    )


def link_list() -> list[CloudLink]:
    return list(CloudLink.objects.select_related("site_a", "site_b"))


def link_rows() -> QuerySet[CloudLink]:
    """The sites page's links, for its table (by site names unless sorted)."""
    return CloudLink.objects.select_related("site_a", "site_b")


def site_links(site: Site) -> list[CloudLink]:
    return list(CloudLink.objects.filter(Q(site_a=site) | Q(site_b=site)).select_related("site_a", "site_b"))


# -- clusters, segments, datastores ---------------------------------------------------------------------------------


def cluster_get(pk: int) -> Cluster:
    return get_object_or_404(Cluster.objects.select_related("site"), pk=pk)


def cluster_hosts(cluster: Cluster) -> list[Host]:
    return list(host_usage_queryset().filter(cluster=cluster))


def segment_get(pk: int) -> NetworkSegment:
    return get_object_or_404(
        NetworkSegment.objects.annotate(workload_count=Count("workloads", distinct=True)).prefetch_related("sites"),
        pk=pk,
    )


def segment_workloads(segment: NetworkSegment, limit: int = 50) -> list[Workload]:
    return list(workload_queryset().filter(segment=segment)[:limit])


def segment_list() -> QuerySet[NetworkSegment]:
    return NetworkSegment.objects.annotate(workload_count=Count("workloads", distinct=True)).prefetch_related("sites")


def workload_tags(workload_ids: list[int]) -> dict[int, list[Tag]]:
    """Each workload's tags, by name, for a page of rows: one query."""
    chips: dict[int, list[Tag]] = {}
    rows = Workload.tags.through.objects.filter(workload_id__in=workload_ids).select_related("tag")
    for row in sorted(rows, key=lambda r: r.tag.name):
        chips.setdefault(row.workload_id, []).append(row.tag)
    return chips


def tag_choices() -> list[tuple[str, str]]:
    """(slug, name) of every tag, for the workloads page's filter."""
    return list(Tag.objects.order_by("name").values_list("slug", "name"))
