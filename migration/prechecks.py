"""Pre-checks of a proposed move: the one place that decides whether a workload may go somewhere, and how.

`precheck_migration()` returns errors (the move cannot start), warnings (it may, with a written reason) and,
when nothing blocks it, the engine's prediction of rounds, total time and downtime, with suggestions when the
move would not converge within its downtime budget. VMs and container-VMs are checked the same way.

The prediction models the transport (the link's RTT, loss and MTU; both hosts' migration stacks: streams, socket
buffers, cipher, codec: `engine_params`) and the world the move will run in (`migration_world`): it knows only the
recent past of the workload's dirty rate and of the link's other traffic, so it gives a best estimate and a
p10-p90 range, names the limit that sets the rate and says what would lift it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from django.db.models import F, Q
from django.utils import timezone

from inventory.choices import CPU_OVERCOMMIT_RATIO, HostState, Hypervisor, PowerState
from inventory.models import CloudLink, Datastore, Host, NetworkSegment, Site, Workload
from inventory.selectors import host_usage
from inventory.usage import Usage
from migration.choices import ACTIVE_STATES, MigrationKind, MigrationPolicy, MigrationState
from migration.engine import PrecopyParams, PrecopyResult, PrecopySimulation, simulate_precopy
from migration.engine.world import (
    DEFAULT_SEED,
    DirtyPattern,
    Forecast,
    LinkPattern,
    dirty_pattern_for,
    forecast_precopy,
    last_telemetry_s,
    link_pattern_for,
)
from migration.placement import RuleBook, place_workload, placement_rule_checks, rule_book_load

GIB = 2**30
MAX_RTT_MS = 150.0
MIN_MBIT_PER_MIGRATION = 250.0
#: A migration port whose MTU is not known is taken to be plain Ethernet.
DEFAULT_MTU_BYTES = 1500
IP_TCP_HEADER_BYTES = 40
#: Limits of the migration's own transport, which a change of its hosts' stack can lift.
TRANSPORT_LIMITS = ("window", "loss", "codec", "cipher")


@dataclass
class PrecheckResult:
    """What the pre-checks found. `errors` block the move; `warnings` need a written override reason."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    destination_host: Host | None = None
    destination_datastore: Datastore | None = None
    destination_segment: NetworkSegment | None = None
    cloud_link: CloudLink | None = None
    link_key: str = ""
    kind: str = MigrationKind.LIVE
    prediction: dict[str, Any] = field(default_factory=dict)
    suggestions: list[dict[str, Any]] = field(default_factory=list)
    placement_reason: str = ""
    bandwidth_bps: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "errors": list(self.errors),
            "warnings": list(self.warnings),
            "prediction": dict(self.prediction),
            "suggestions": list(self.suggestions),
            "kind": self.kind,
            "destination_host": self.destination_host.pk if self.destination_host else None,
            "destination_host_name": self.destination_host.name if self.destination_host else None,
            "destination_datastore": self.destination_datastore.pk if self.destination_datastore else None,
            "placement_reason": self.placement_reason,
        }


def _gib(value: float) -> str:
    return f"{value / GIB:.1f} GiB"


def _mbit(bps: float) -> str:
    return f"{bps * 8 / 1e6:,.0f} Mbit/s"


def _secs(value: float) -> str:
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    return f"{value / 60:.1f} min"


def link_between(a: Site, b: Site) -> CloudLink | None:
    return (
        CloudLink.objects.filter(Q(site_a=a, site_b=b) | Q(site_a=b, site_b=a))
        .select_related("site_a", "site_b")
        .first()
    )


def link_key_for(*, source_host: Host, destination_host: Host, cloud_link: CloudLink | None) -> str:
    """Migrations that share bandwidth share a key: a WAN link between sites, or the source host's NIC inside one."""
    if cloud_link is not None:
        return f"link:{cloud_link.pk}"
    return f"host:{source_host.pk}"


def link_slots(link: CloudLink) -> int:
    """Moves a WAN link carries at once: one per `MIN_MBIT_PER_MIGRATION` of its bandwidth (compression does not
    count). Beyond that, moves wait in the queue; a link with no slot at all refuses them."""
    return int(link.bandwidth_mbit // MIN_MBIT_PER_MIGRATION)


def link_key_limit(*, source_host: Host | None, cloud_link: CloudLink | None) -> int:
    """Moves that run at once on one link key (`link_key_for`): a WAN link's slots, or inside a site the source
    host's concurrency limit (4 on 1 GbE, 8 on 10 GbE+). Each host's own limit binds on top (admission)."""
    return link_slots(cloud_link) if cloud_link is not None else source_host.max_concurrent_migrations


def active_migrations(exclude_pk: int | None = None):
    from migration.models import Migration

    qs = Migration.objects.filter(state__in=ACTIVE_STATES)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs


@dataclass(frozen=True)
class ActiveMigration:
    """What the pre-checks need of a migration in flight."""

    pk: int
    state: str
    workload_id: int
    workload_live: bool
    memory_bytes: int
    vcpus: int
    destination_host_id: int
    cloud_link_id: int | None
    link_key: str


class PrecheckContext:
    """Facts the pre-checks read, each read once and kept: the migrations in flight, hosts, their load, which
    sites carry a segment, which hosts see a datastore, links, hosts being evacuated.

    Each `precheck_migration()` call makes a fresh one by default. A caller that checks many moves while nothing
    is written in between (a planner weighing proposals) passes one context to all of them, so that each fact is
    read once instead of once per check; after starting a migration, make a new context."""

    def __init__(self, rule_book: RuleBook | None = None) -> None:
        self._rule_book = rule_book  # a planner passes its own, which it updates as it plans moves
        self._active: list[ActiveMigration] | None = None
        self._evacuating: tuple[dict[int, int], dict[int, int]] | None = None
        self._hosts: dict[int, Host] = {}
        self._usage: dict[int, Usage] = {}
        self._segment_sites: dict[int, set[int]] = {}
        self._site_first_segment: dict[int, NetworkSegment | None] = {}
        self._datastore_hosts: dict[int, set[int]] = {}
        self._best_datastore: dict[int, Datastore | None] = {}
        self._links: dict[frozenset, CloudLink | None] = {}
        self._site_hosts: dict[int, list[Host]] = {}
        self._workloads: dict[int, Workload] = {}

    def active(self, exclude_migration: int | None = None) -> list[ActiveMigration]:
        if self._active is None:
            rows = active_migrations().values_list(
                "pk", "state", "workload_id", "workload__power_state", "workload__memory_bytes", "workload__vcpus",
                "destination_host_id", "cloud_link_id", "link_key",
            )  # fmt: skip
            self._active = [
                ActiveMigration(pk, state, w, power == PowerState.ON, mem, vcpus, dst, link, key)
                for pk, state, w, power, mem, vcpus, dst, link, key in rows
            ]
        return [m for m in self._active if m.pk != exclude_migration]

    def evacuation_of(self, host: Host) -> int | None:
        """The running evacuation that empties `host` (of the host itself, or of its whole site), if any."""
        if self._evacuating is None:
            from migration.capacity.choices import EvacuationState, Scope
            from migration.capacity.models import Evacuation

            by_host: dict[int, int] = {}
            by_site: dict[int, int] = {}
            rows = Evacuation.objects.filter(state=EvacuationState.RUNNING).order_by("pk")
            for pk, scope, host_id, site_id in rows.values_list("pk", "scope", "host_id", "site_id"):
                if scope == Scope.HOST and host_id is not None:
                    by_host.setdefault(host_id, pk)
                elif scope == Scope.SITE:
                    by_site.setdefault(site_id, pk)
            self._evacuating = (by_host, by_site)
        by_host, by_site = self._evacuating
        if host.pk in by_host:
            return by_host[host.pk]
        return by_site.get(host.cluster.site_id) if by_site else None

    def rule_book(self) -> RuleBook:
        """The placement rules and where their members run (`rule_book_load`), read once."""
        if self._rule_book is None:
            self._rule_book = rule_book_load()
        return self._rule_book

    def preload_workloads(self, workloads: list[Workload]) -> None:
        """Workloads read once by the caller (with host, cluster, site, datastore and segment), so that checking
        thousands of them (an assessment) does not read each again."""
        self._workloads.update((w.pk, w) for w in workloads)

    def workload(self, pk: int) -> Workload:
        if pk in self._workloads:
            return self._workloads[pk]
        return Workload.objects.select_related("host__cluster__site", "datastore", "segment").get(pk=pk)

    def site_hosts(self, site: Site) -> list[Host]:
        """The hosts of a site by name, with their cluster and site (placement's candidates)."""
        if site.pk not in self._site_hosts:
            hosts = list(Host.objects.filter(cluster__site=site).select_related("cluster__site").order_by("name"))
            self._site_hosts[site.pk] = hosts
            for host in hosts:
                self._hosts.setdefault(host.pk, host)
        return self._site_hosts[site.pk]

    def host(self, pk: int) -> Host:
        if pk not in self._hosts:
            self._hosts[pk] = Host.objects.select_related("cluster__site").get(pk=pk)
        return self._hosts[pk]

    def usage(self, host_id: int) -> Usage:
        """What the host's running workloads and the live moves on their way to it take (`host_usage`), read for
        every host of its site at once (placement weighs them all)."""
        if host_id not in self._usage:
            site_id = self.host(host_id).cluster.site_id
            self._usage.update(host_usage(Host.objects.filter(cluster__site_id=site_id)))
            self._usage.setdefault(host_id, Usage(pk=host_id))
        return self._usage[host_id]

    def preload_usage(self) -> None:
        """Every host's usage in one aggregate (a planner that weighs hosts across all sites)."""
        self._usage = host_usage()

    def segment_sites(self, segment_id: int) -> set[int]:
        if segment_id not in self._segment_sites:
            through = NetworkSegment.sites.through.objects.filter(networksegment_id=segment_id)
            self._segment_sites[segment_id] = set(through.values_list("site_id", flat=True))
        return self._segment_sites[segment_id]

    def first_segment(self, site: Site) -> NetworkSegment | None:
        if site.pk not in self._site_first_segment:
            self._site_first_segment[site.pk] = site.segments.order_by("name").first()
        return self._site_first_segment[site.pk]

    def datastore_hosts(self, datastore_id: int) -> set[int]:
        if datastore_id not in self._datastore_hosts:
            through = Datastore.hosts.through.objects.filter(datastore_id=datastore_id)
            self._datastore_hosts[datastore_id] = set(through.values_list("host_id", flat=True))
        return self._datastore_hosts[datastore_id]

    def best_datastore(self, host: Host) -> Datastore | None:
        """The datastore the host sees with the most room."""
        if host.pk not in self._best_datastore:
            self._best_datastore[host.pk] = (
                Datastore.objects.filter(hosts=host)
                .annotate(free=F("capacity_bytes") - F("used_bytes"))
                .order_by("-free", "name")
                .first()
            )
        return self._best_datastore[host.pk]

    def link(self, a: Site, b: Site) -> CloudLink | None:
        key = frozenset((a.pk, b.pk))
        if key not in self._links:
            self._links[key] = link_between(a, b)
        return self._links[key]


def host_load(
    host: Host,
    *,
    exclude_workload: Workload | None = None,
    context: PrecheckContext | None = None,
) -> dict:
    """Memory and vCPUs taken on `host` (inventory's one accounting: running workloads plus live moves on their way
    to it), less what `exclude_workload` itself takes there."""
    context = context or PrecheckContext()
    usage = context.usage(host.pk)
    if exclude_workload is not None:
        usage = usage.without(exclude_workload)
    return {"memory": usage.memory_bytes, "vcpus": usage.vcpus}


def host_checks(
    workload: Workload, host: Host, *, exclude_migration: int | None = None, context: PrecheckContext | None = None
) -> tuple[list[str], dict]:
    """The checks that depend on the destination host alone (used by placement to rank candidates)."""
    context = context or PrecheckContext()
    errors: list[str] = []
    source = workload.host
    live = workload.power_state == PowerState.ON
    # Not onto the host it already runs on.
    if host.pk == source.pk:
        errors.append(f"{workload.name} already runs on host {host.name}; choose another host.")
    # The destination takes new workloads.
    if host.state != HostState.CONNECTED:
        errors.append(f"Host {host.name} is {host.get_state_display().lower()}: it takes no new workloads.")
    else:
        # A host being emptied takes nothing new, or its evacuation would never end.
        evacuation = context.evacuation_of(host)
        if evacuation is not None:
            errors.append(f"Host {host.name} is being evacuated (evacuation #{evacuation}); it takes no new workloads.")
    # Same CPU vendor and a baseline at least as new (a running guest keeps the CPU features it saw at boot).
    src_cluster, dst_cluster = source.cluster, host.cluster
    if live and src_cluster.cpu_vendor != dst_cluster.cpu_vendor:
        errors.append(
            f"Host {host.name} has {dst_cluster.get_cpu_vendor_display()} CPUs but {workload.name} runs on "
            f"{src_cluster.get_cpu_vendor_display()} ({src_cluster.get_cpu_baseline_display()}): a running guest "
            f"cannot move between CPU vendors."
        )
    elif live and dst_cluster.baseline_level < src_cluster.baseline_level:
        errors.append(
            f"Cluster {dst_cluster.name}'s CPU baseline {dst_cluster.get_cpu_baseline_display()} is older than "
            f"{src_cluster.name}'s {src_cluster.get_cpu_baseline_display()}: the guest uses CPU features host "
            f"{host.name} lacks."
        )
    # Capacity: memory is never overcommitted, vCPUs up to CPU_OVERCOMMIT_RATIO x cores.
    load = host_load(host, exclude_workload=workload, context=context)
    free_memory = host.memory_bytes - load["memory"]
    if live and workload.memory_bytes > free_memory:
        errors.append(
            f"Host {host.name} has {_gib(max(free_memory, 0))} of memory free (of {_gib(host.memory_bytes)}), "
            f"counting migrations on their way to it; {workload.name} needs {_gib(workload.memory_bytes)}."
        )
    if workload.vcpus > host.cores:
        errors.append(f"{workload.name} has {workload.vcpus} vCPUs, more than host {host.name}'s {host.cores} cores.")
    elif live and load["vcpus"] + workload.vcpus > host.vcpu_capacity:
        errors.append(
            f"Host {host.name} would run {load['vcpus'] + workload.vcpus} vCPUs, more than its limit of "
            f"{host.vcpu_capacity} ({CPU_OVERCOMMIT_RATIO}× its {host.cores} cores)."
        )
    return errors, {"free_memory_after": free_memory - (workload.memory_bytes if live else 0)}


def precheck_migration(
    *,
    workload: Workload,
    destination_host: Host | None = None,
    destination_site: Site | None = None,
    accept_readdressing: bool = False,
    max_downtime_s: float = 0.3,
    policy: str = MigrationPolicy.THROTTLE,
    exclude_migration: int | None = None,
    context: PrecheckContext | None = None,
    predict: bool = True,
) -> PrecheckResult:
    """Check moving `workload` to `destination_host`, or to the best host of `destination_site` (placement).

    `exclude_migration` is the migration being (re)checked itself, when a queued one is admitted. `context` shares
    what the checks read across many calls made while nothing is written (see `PrecheckContext`). `predict=False`
    returns the checks without the engine's prediction, for a caller that plans the moves itself (an assessment's
    waves over thousands of workloads).
    """
    context = context or PrecheckContext()
    result = PrecheckResult()
    workload = context.workload(workload.pk)
    source = workload.host
    live = workload.power_state == PowerState.ON

    # No other active migration of the same workload.
    other = next((m for m in context.active(exclude_migration) if m.workload_id == workload.pk), None)
    if other is not None:
        result.errors.append(
            f"{workload.name} is already being migrated (migration #{other.pk}, "
            f"{MigrationState(other.state).label.lower()}); wait for it to end or cancel it."
        )

    if destination_host is None:
        if destination_site is None:
            result.errors.append("Choose a destination: a host, or a site to let placement choose the host.")
            return result
        placement = place_workload(
            workload=workload, site=destination_site, exclude_migration=exclude_migration, context=context
        )
        if placement.host is None:
            result.errors.append(placement.reason)
            return result
        destination_host = placement.host
        result.placement_reason = placement.reason
    destination_host = context.host(destination_host.pk)
    result.destination_host = destination_host
    dst_site, src_site = destination_host.cluster.site, source.cluster.site

    errors, _ = host_checks(workload, destination_host, exclude_migration=exclude_migration, context=context)
    result.errors.extend(errors)
    rule_errors, rule_warnings = placement_rule_checks(workload=workload, host=destination_host, context=context)
    result.errors.extend(rule_errors)
    result.warnings.extend(rule_warnings)

    # Powered off: nothing to copy live.
    if not live:
        result.kind = MigrationKind.COLD
        result.warnings.append(
            f"{workload.name} is {workload.get_power_state_display().lower()}: it will be moved cold (its disk and "
            f"configuration), with no live pre-copy, and stays off at the destination."
        )

    # The network segment must be present at the destination, else the IP changes.
    if dst_site.pk not in context.segment_sites(workload.segment_id):
        candidate = context.first_segment(dst_site)
        if candidate is None:
            result.errors.append(
                f"{dst_site.name} has no network segment at all: {workload.name} could not be addressed there."
            )
        elif not accept_readdressing:
            result.errors.append(
                f"Segment {workload.segment.name} is not present on {dst_site.name}: {workload.name}'s IP "
                f"{workload.ip_address} would change. Accept re-addressing to move it onto {candidate.name} "
                f"({candidate.cidr}) with a new address."
            )
        else:
            result.destination_segment = candidate
            result.warnings.append(
                f"Segment {workload.segment.name} is not present on {dst_site.name}: {workload.name} will leave "
                f"{workload.ip_address} and get a new address on {candidate.name} ({candidate.cidr}); clients must "
                f"be told."
            )

    # Storage: the datastore must be visible from the destination, else the disk moves too.
    disk_bytes = 0
    if destination_host.pk in context.datastore_hosts(workload.datastore_id):
        result.destination_datastore = workload.datastore
    else:
        best = context.best_datastore(destination_host)
        if best is None:
            result.errors.append(
                f"Host {destination_host.name} sees no datastore, and it cannot see {workload.datastore.name}: "
                f"there is nowhere to put {workload.name}'s disk."
            )
        elif best.free_bytes < workload.disk_bytes:
            result.errors.append(
                f"Host {destination_host.name} cannot see datastore {workload.datastore.name}, and the datastore it "
                f"sees with the most room, {best.name}, has {_gib(best.free_bytes)} free; {workload.name}'s disk "
                f"needs {_gib(workload.disk_bytes)}."
            )
        else:
            result.destination_datastore = best
            disk_bytes = workload.disk_bytes
            if live:
                result.kind = MigrationKind.LIVE_STORAGE

    # Between sites: a link, its RTT and its bandwidth per concurrent migration (compression does not count).
    link = None
    if dst_site.pk != src_site.pk:
        link = context.link(src_site, dst_site)
        if link is None:
            result.errors.append(
                f"There is no cloud link between {src_site.name} and {dst_site.name}: a move between sites needs one."
            )
        else:
            if live and link.rtt_ms > MAX_RTT_MS:
                result.errors.append(
                    f"The link {src_site.name} ↔ {dst_site.name} has a round-trip time of {link.rtt_ms:g} ms, above "
                    f"the {MAX_RTT_MS:g} ms that long-distance live migration tolerates."
                )
            # The floor is the link's admission limit (the rest wait in the queue): refused only when even one
            # move would get less than the floor.
            if link_slots(link) < 1:
                result.errors.append(
                    f"The link {src_site.name} ↔ {dst_site.name} has {link.bandwidth_mbit:,} Mbit/s, less than the "
                    f"{MIN_MBIT_PER_MIGRATION:g} Mbit/s a live migration needs (WAN optimization does not count): "
                    f"not even one move fits on it."
                )
    result.cloud_link = link
    result.link_key = link_key_for(source_host=source, destination_host=destination_host, cloud_link=link)

    if result.errors or not predict:
        return result

    # The engine's prediction with this move's share of the link, in the world as the recent past shows it.
    sharing = [
        m for m in context.active(exclude_migration) if m.link_key == result.link_key and m.workload_id != workload.pk
    ]
    # Moves beyond the admission limit wait: the share is that of the moves that run at once.
    n = min(len(sharing) + 1, max(link_key_limit(source_host=source, cloud_link=link), 1))
    params = engine_params(
        workload=workload,
        bandwidth_bps=min(source.migration_bandwidth_bps, destination_host.migration_bandwidth_bps),
        max_downtime_s=max_downtime_s,
        policy=policy,
        compression_ratio=link.compression_ratio if link is not None else 1.0,
        disk_bytes=disk_bytes,
        source_host=source,
        destination_host=destination_host,
        cloud_link=link,
    )
    dirty, link_pattern, capacity = migration_world(workload=workload, source_host=source, cloud_link=link)
    forecast = forecast_precopy(
        params,
        start_s=last_telemetry_s(timezone.now().timestamp()),  # what is known ends at the last sample
        dirty=dirty if live else None,
        link=link_pattern,
        capacity_bps=capacity,
        sharing=n,
    )
    outcome = forecast.result
    result.bandwidth_bps = forecast.share_bps
    result.prediction = prediction_dict(outcome, params, sharing=n, forecast=forecast)
    if result.prediction["storage_time_s"] > 0:
        result.warnings.append(
            f"Host {destination_host.name} cannot see datastore {workload.datastore.name}, so the disk "
            f"({_gib(disk_bytes)}) is copied to {result.destination_datastore.name} first: about "
            f"{_secs(result.prediction['storage_time_s'])} of disk transfer before the memory pre-copy."
        )
    if live and (not outcome.converged or outcome.ended_by != "converged" or outcome.limit in TRANSPORT_LIMITS):
        result.suggestions = suggestions(outcome.params, outcome)
        if not outcome.converged:
            result.warnings.append(
                f"Pre-copy would not converge within the {_secs(max_downtime_s)} downtime budget: {outcome.reason}"
            )
    return result


def path_mss_bytes(*, source_host: Host, destination_host: Host, cloud_link: CloudLink | None) -> int:
    """TCP payload per segment on the path: the smallest MTU on it (the link's, each host's migration port; a port
    of unknown MTU counts as 1500) less the IPv4 and TCP headers."""
    mtus = [h.migration_mtu_bytes or DEFAULT_MTU_BYTES for h in (source_host, destination_host)]
    if cloud_link is not None:
        mtus.append(cloud_link.mtu_bytes)
    return min(mtus) - IP_TCP_HEADER_BYTES


def transport_fields(
    *, source_host: Host, destination_host: Host, cloud_link: CloudLink | None, compression_ratio: float
) -> dict[str, Any]:
    """The engine's transport inputs for a move between two hosts, over a link or inside a site.

    Rules: the link's RTT and loss (none inside a site); the path's MSS; the lower stream count of the two hosts
    and the smaller socket buffer (empty = tuned to the path, so a host with a fixed buffer binds); the move is
    encrypted when the link or either host encrypts, at the slower host's cipher rate; with WAN compression on
    (ratio > 1), the slower codec of the hosts that compress themselves (none: an optimiser on the link)."""
    hosts = (source_host, destination_host)
    buffers = [h.migration_socket_buffer_bytes for h in hosts if h.migration_socket_buffer_bytes is not None]
    encrypted = any(h.migration_encrypted for h in hosts) or bool(cloud_link is not None and cloud_link.encrypted)
    codecs = [h.migration_codec_rate_bps for h in hosts if h.migration_codec_rate_bps is not None]
    return {
        "rtt_s": cloud_link.rtt_s if cloud_link is not None else 0.0,
        "loss": cloud_link.loss if cloud_link is not None else 0.0,
        "mss_bytes": float(
            path_mss_bytes(source_host=source_host, destination_host=destination_host, cloud_link=cloud_link)
        ),
        "streams": min(h.migration_streams for h in hosts),
        "socket_buffer_bytes": float(min(buffers)) if buffers else None,
        "cipher_rate_bps": float(min(h.migration_cipher_rate_bps for h in hosts)) if encrypted else None,
        "codec_rate_bps": float(min(codecs)) if codecs and compression_ratio > 1.0 else None,
    }


def engine_params(
    *,
    workload: Workload,
    bandwidth_bps: float,
    max_downtime_s: float,
    policy: str,
    compression_ratio: float = 1.0,
    disk_bytes: float = 0,
    source_host: Host | None = None,
    destination_host: Host | None = None,
    cloud_link: CloudLink | None = None,
) -> PrecopyParams:
    """The engine's inputs for this workload. A powered-off workload dirties nothing and writes nothing to its disk
    (a cold move); a live one's disk writes are mirrored while a storage move (``disk_bytes > 0``) copies the disk.
    With both hosts given, the transport (RTT, loss, MSS, streams, buffers, cipher, codec) comes from them and the
    link (`transport_fields`); without, the move is modelled as a LAN with no transport limit. The source host's
    hypervisor picks the engine's profile: a KVM source migrates by QEMU's own rules (``profile="qemu"``,
    calibrated against real QEMU, docs/engine.md), any other by the generic model."""
    live = workload.power_state == PowerState.ON
    transport: dict[str, Any] = {}
    if source_host is not None and destination_host is not None:
        transport = transport_fields(
            source_host=source_host,
            destination_host=destination_host,
            cloud_link=cloud_link,
            compression_ratio=float(compression_ratio),
        )
    return PrecopyParams(
        memory_bytes=float(workload.memory_bytes),
        bandwidth_bps=float(bandwidth_bps),
        dirty_rate_bps=float(workload.dirty_rate_bps) if live else 0.0,
        working_set_bytes=float(min(workload.working_set_bytes, workload.memory_bytes)) if live else None,
        max_downtime_s=float(max_downtime_s),
        compression_ratio=float(compression_ratio),
        on_no_convergence=policy,
        disk_bytes=float(disk_bytes),
        disk_write_rate_bps=float(workload.disk_write_rate_bps) if live and disk_bytes else 0.0,
        profile="qemu" if source_host is not None and source_host.hypervisor == Hypervisor.KVM else "generic",
        **transport,
    )


def migration_world(
    *, workload: Workload, source_host: Host, cloud_link: CloudLink | None, seed: int = DEFAULT_SEED
) -> tuple[DirtyPattern, LinkPattern | None, float]:
    """The world a move of `workload` runs in: its dirty-rate pattern (its busy-hour rate is the inventory's, its
    business day its site's), the link's background traffic (the business day of the link's two sites) and the
    capacity that traffic shares: the link's bandwidth, or inside a site the source host's migration NIC (no
    background there: a dedicated migration network)."""
    dirty = dirty_pattern_for(
        seed=seed,
        workload_id=workload.pk,
        base_bps=float(workload.dirty_rate_bps),
        longitude=source_host.cluster.site.longitude,
    )
    if cloud_link is None:
        return dirty, None, source_host.migration_bandwidth_bps
    longitude = (cloud_link.site_a.longitude + cloud_link.site_b.longitude) / 2
    return dirty, link_pattern_for(seed=seed, link_id=cloud_link.pk, longitude=longitude), cloud_link.bandwidth_bps


#: The limit that sets a migration's rate, in words (keys: the engine's `rate_limits().binding`).
LIMIT_LABELS = {
    "link": "the link's bandwidth (its share for this move)",
    "nic": "the hosts' migration NIC",
    "window": "the TCP window (socket buffers / RTT)",
    "loss": "packet loss (TCP over a lossy path)",
    "codec": "the WAN compression codec",
    "cipher": "the encryption cipher",
}


def prediction_dict(
    outcome: PrecopyResult, params: PrecopyParams, *, sharing: int = 1, forecast: Forecast | None = None
) -> dict[str, Any]:
    """The prediction as stored on the migration and shown: the engine's figures, the limit that sets the rate
    (with its arithmetic and what would lift it) and, with a forecast, its range and what it was based on."""
    share = outcome.share_bps if outcome.share_bps is not None else params.bandwidth_bps
    explained = outcome.params is not None
    prediction = {
        "rounds": len(outcome.rounds),
        "total_time_s": round(outcome.total_time_s, 3),
        "p10_total_time_s": round(forecast.p10_s, 3) if forecast else round(outcome.total_time_s, 3),
        "p90_total_time_s": round(forecast.p90_s, 3) if forecast else round(outcome.total_time_s, 3),
        "downtime_s": round(outcome.downtime_s, 4),
        "bytes_sent": outcome.bytes_sent,
        "storage_time_s": round(outcome.storage_time_s, 3),
        "outcome": outcome.outcome,
        "converged": outcome.converged,
        "reason": outcome.reason,
        "bandwidth_bps": share,
        "rate_bps": outcome.rate_bps,
        "limit": outcome.limit,
        "limit_label": LIMIT_LABELS.get(outcome.limit, outcome.limit),
        "limit_sentence": outcome.limit_sentence if explained else "",
        "advice": list(outcome.limit_advice) if explained else [],
        "sharing": sharing,
        "round_bytes": [r.bytes for r in outcome.rounds],
    }
    if forecast is not None:
        prediction |= {
            "dirty_rate_bps": round(forecast.dirty_rate_bps),
            "link_background": round(forecast.background, 4),
            "basis": forecast.basis,
            "analogues": forecast.analogues,
        }
    return prediction


def _short(outcome) -> dict[str, Any]:
    return {
        "rounds": len(outcome.rounds),
        "total_time_s": round(outcome.total_time_s, 3),
        "downtime_s": round(outcome.downtime_s, 4),
        "outcome": outcome.outcome,
        "converged": outcome.converged and outcome.ended_by == "converged",
    }


def _run(params: PrecopyParams, share_bps: float | None) -> PrecopyResult:
    """The engine alone at `params.bandwidth_bps`, or given `share_bps` of a link (the NIC then being a cap)."""
    if share_bps is None:
        return simulate_precopy(params)
    return PrecopySimulation(params, shared=True).run_to_end(share_bps)


def _transport_changes(params: PrecopyParams, limit: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Changes of the hosts' migration stack that lift `limit`: (kind, label, changed engine fields)."""
    changes: list[tuple[str, str, dict[str, Any]]] = []
    if limit == "window":
        changes.append(
            (
                "buffers",
                "Socket buffers tuned to the path (the bandwidth-delay product), as long-distance vMotion does",
                {"socket_buffer_bytes": None},
            )
        )
    if limit in ("window", "loss") and params.streams < 64:
        more = min(64, params.streams * 4)
        changes.append(("streams", f"{more} migration streams instead of {params.streams}", {"streams": more}))
    if limit == "codec":
        changes.append(
            ("codec", "Compression by a WAN optimiser on the link (not the hosts' CPU)", {"codec_rate_bps": None})
        )
    if limit == "cipher":
        faster = (params.cipher_rate_bps or 0.0) * 2
        changes.append(
            ("cipher", "A cipher twice as fast (AES-NI, more cores for encryption)", {"cipher_rate_bps": faster})
        )
    return changes


def suggestions(params: PrecopyParams, outcome: PrecopyResult) -> list[dict[str, Any]]:
    """What would make a move faster or make it converge within its budget, each with the engine's predicted
    outcome: a change of the hosts' migration stack when the transport sets the rate (window, loss, codec,
    cipher); a larger downtime budget, throttling or a faster link when pre-copy does not converge."""
    share = outcome.share_bps
    found: list[dict[str, Any]] = []
    # Lift the limit that sets the rate, when it is the transport's.
    for kind, label, change in _transport_changes(params, outcome.limit):
        r = _run(replace(params, **change), share)
        if r.total_time_s < outcome.total_time_s * 0.95:
            found.append({"kind": kind, "label": label, "change": change, "prediction": _short(r)})
    if outcome.converged and outcome.ended_by == "converged":
        return found
    # A larger downtime budget (the smallest that converges without slowing the guest).
    for budget in (0.5, 1.0, 2.0, 5.0, 10.0, 30.0):
        if budget <= params.max_downtime_s:
            continue
        r = _run(replace(params, max_downtime_s=budget, on_no_convergence="abort"), share)
        if r.converged:
            found.append(
                {
                    "kind": "budget",
                    "label": f"Raise the downtime budget to {_secs(budget)}",
                    "change": {"max_downtime_s": budget},
                    "prediction": _short(r),
                }
            )
            break
    # Throttle the guest (auto-converge).
    if params.on_no_convergence != "throttle":
        r = _run(replace(params, on_no_convergence="throttle"), share)
        found.append(
            {
                "kind": "throttle",
                "label": "Throttle the guest when pre-copy stalls (policy 'throttle')",
                "change": {"policy": "throttle"},
                "prediction": _short(r) | {"converged": r.converged, "throttle": r.throttle},
            }
        )
    # A faster link (more bandwidth for this move).
    base = share if share is not None else params.bandwidth_bps
    for factor in (2, 4, 10):
        bigger = replace(params, bandwidth_bps=params.bandwidth_bps * factor, on_no_convergence="abort")
        r = _run(bigger, base * factor if share is not None else None)
        if r.converged:
            found.append(
                {
                    "kind": "link",
                    "label": f"A link {factor}× as fast ({_mbit(base * factor)} for this move)",
                    "change": {"bandwidth_bps": base * factor},
                    "prediction": _short(r),
                }
            )
            break
    return found
