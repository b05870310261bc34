"""Reads and pure computation behind recommendations and evacuations: where each workload could go.

`TargetIndex.load()` reads everything a decision needs in a fixed number of queries (hosts with what is allocated
on them and on its way to them, which datastores they see, where segments are, links and how many migrations use
each, and every host's simulated use at the basis instant); `blocker()` then mirrors the host pre-checks in memory,
so thousands of candidates cost no query. The real `precheck_migration` runs once per chosen move only.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from operator import itemgetter
from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Count, QuerySet
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

from hybridcloud.core.units import format_bytes
from inventory.choices import BASELINE_LEVELS, CPU_OVERCOMMIT_RATIO, HostState, PowerState
from inventory.links import MIN_MBIT_PER_MIGRATION, migration_slots
from inventory.models import CloudLink, Datastore, Host, NetworkSegment, Site, Workload
from inventory.selectors import host_usage
from migration.capacity import telemetry
from migration.capacity.sampling import fleet_use, load_fleet, tick_of
from migration.capacity.selectors import evacuating_hosts
from migration.choices import ACTIVE_STATES
from migration.engine import LinkSpec
from migration.engine.placement_rules import Spot
from migration.models import Migration
from migration.placement import RuleBook, rule_book_load
from migration.prechecks import MAX_RTT_MS, PrecheckContext


@dataclass
class TargetHost:
    pk: int
    name: str
    site_id: int
    site_name: str
    site_kind: str
    vendor: str
    baseline_level: int
    cores: int
    memory_bytes: float
    nic_gbps: int
    state: str
    alloc_memory: float = 0.0
    alloc_vcpus: int = 0
    busy_cores: float = 0.0
    used_memory: float = 0.0
    datastores: set[int] = field(default_factory=set)
    evacuation: int | None = None  # the running evacuation emptying this host: it takes nothing new

    @property
    def vcpu_capacity(self) -> int:
        return self.cores * CPU_OVERCOMMIT_RATIO

    @property
    def cpu_pct(self) -> float:
        return telemetry.pct(min(self.busy_cores, self.cores), self.cores)

    @property
    def mem_pct(self) -> float:
        return telemetry.pct(self.used_memory, self.memory_bytes)

    @property
    def nic_bps(self) -> float:
        return self.nic_gbps * 1e9 / 8

    @property
    def max_concurrent(self) -> int:
        return 8 if self.nic_gbps >= 10 else 4


@dataclass
class LinkInfo:
    pk: int
    bandwidth_mbit: int
    rtt_ms: float
    loss_percent: float
    compression_ratio: float
    active: int = 0
    planned: int = 0

    @property
    def slots(self) -> int:
        """Concurrent migrations the link still takes at 250 Mbit/s each (pre-check rule)."""
        return migration_slots(self.bandwidth_mbit) - self.active - self.planned

    def spec(self) -> LinkSpec:
        return LinkSpec(
            bandwidth_bps=self.bandwidth_mbit * 1e6 / 8,
            rtt_s=self.rtt_ms / 1000,
            loss=self.loss_percent / 100,
            compression_ratio=self.compression_ratio,
        )


CANDIDATE_FIELDS = (
    "id", "name", "kind", "vcpus", "memory_bytes", "disk_bytes", "power_state", "host_id", "datastore_id",
    "segment_id", "ip_address", "dirty_rate_bps", "working_set_bytes", "disk_write_rate_bps",
)  # fmt: skip


class WorkloadRow(NamedTuple):
    """A workload as the planner reads it (`CANDIDATE_FIELDS`, a plain row: ten thousand model instances cost more
    than the planning itself); `PlanningWorkloads.instance()` makes the model instance of one that is chosen."""

    pk: int
    name: str
    kind: str
    vcpus: int
    memory_bytes: int
    disk_bytes: int
    power_state: str
    host_id: int
    datastore_id: int | None
    segment_id: int | None
    ip_address: str
    dirty_rate_bps: int
    working_set_bytes: int
    disk_write_rate_bps: int


@dataclass(eq=False)
class Candidate:
    """A workload as the planner sees it, with its simulated use at the basis instant (compared by identity);
    `live`: powered on (moved live, and taking its memory and vCPUs on its host)."""

    workload: WorkloadRow
    busy_cores: float
    used_memory: float
    live: bool


def workload_rows(workloads: QuerySet[Workload]) -> list[WorkloadRow]:
    """The planner's rows of `workloads`, in the queryset's order, in one query."""
    return list(map(WorkloadRow._make, workloads.values_list(*CANDIDATE_FIELDS)))


@cache
def _model_order() -> tuple[list[str], Callable[[WorkloadRow], tuple]]:
    """`CANDIDATE_FIELDS` in the model's own field order (what `Model.from_db` takes), and what picks them from a
    row in that order."""
    names = [f.attname for f in Workload._meta.concrete_fields if f.attname in CANDIDATE_FIELDS]
    return names, itemgetter(*(CANDIDATE_FIELDS.index(n) for n in names))


def _from_row(names: list[str], values: list, related: dict[str, object]) -> Workload:
    """What `Workload.from_db(DEFAULT_DB_ALIAS, names, values)` makes (a saved instance, the other fields deferred),
    with `related` as its cached related objects (by cache name), without `Model.__init__`'s per-field loop: its
    attribute values set at once. Only when no `pre_init` or `post_init` receiver listens for workloads
    (`PlanningWorkloads` checks), which `__init__` would call; the foreign keys' descriptors would only drop a
    cached related object, and a fresh instance has none."""
    w = Workload.__new__(Workload)
    state = w._state = ModelState()
    state.adding = False
    state.db = DEFAULT_DB_ALIAS
    state.fields_cache = related
    w.__dict__.update(zip(names, values, strict=True))
    return w


#: The cache names of a workload's host, datastore and segment (`ForeignKey.set_cached_value`'s keys).
_HOST_CACHE, _DATASTORE_CACHE, _SEGMENT_CACHE = (
    Workload._meta.get_field(name).cache_name for name in ("host", "datastore", "segment")
)


class PlanningWorkloads:
    """The planned workloads' model instances, made from their rows only when needed (a chosen move's pre-checks,
    its engine inputs), with their host, datastore and segment from what was read once for all of them; each is
    handed to the shared pre-check context, so no pre-check reads a workload again."""

    def __init__(self, context: PrecheckContext, rows: list[WorkloadRow], site_ids: set[int]) -> None:
        self.context = context
        hosts = {h.pk: h for site_id in sorted(site_ids) for h in context.site_hosts(Site(pk=site_id))}
        for host_id in {w.host_id for w in rows} - set(hosts):
            hosts[host_id] = context.host(host_id)
        self.hosts = hosts
        self.datastores = Datastore.objects.in_bulk({w.datastore_id for w in rows if w.datastore_id})
        self.segments = NetworkSegment.objects.in_bulk({w.segment_id for w in rows if w.segment_id})
        self._made: dict[int, Workload] = {}
        self._bare = not (pre_init.has_listeners(Workload) or post_init.has_listeners(Workload))

    def instance(self, row: WorkloadRow) -> Workload:
        w = self._made.get(row.pk)
        if w is None:
            names, pick = _model_order()
            values = pick(row)
            related = {
                _HOST_CACHE: self.hosts[row.host_id],
                _DATASTORE_CACHE: self.datastores.get(row.datastore_id),
                _SEGMENT_CACHE: self.segments.get(row.segment_id),
            }
            if self._bare:
                w = _from_row(names, values, related)
            else:
                w = Workload.from_db(DEFAULT_DB_ALIAS, names, values)
                w._state.fields_cache.update(related)
            self._made[row.pk] = w
            self.context.preload_workloads((w,))
        return w


def next_peak(longitude: float, after: datetime) -> datetime:
    """The next weekday 13:30 local time (the middle of the business-hours peak) at or after `after`, on the hour
    or half hour in UTC."""
    offset = timedelta(hours=longitude / 15.0)
    local = after + offset
    candidate = local.replace(hour=13, minute=30, second=0, microsecond=0)
    if candidate < local:
        candidate += timedelta(days=1)
    while candidate.weekday() >= 5:
        candidate += timedelta(days=1)
    return (candidate - offset).astimezone(UTC)


def _target_hosts() -> dict[int, TargetHost]:
    """Every host, with what is allocated on it (`host_usage`: its running workloads and the live moves on their way
    to it, one aggregate) and the datastores it sees."""
    hosts: dict[int, TargetHost] = {}
    rows = Host.objects.values_list(
        "pk", "name", "cluster__site_id", "cluster__site__name", "cluster__site__kind", "cluster__cpu_vendor",
        "cluster__cpu_baseline", "cores", "memory_bytes", "migration_nic_gbps", "state",
    )  # fmt: skip
    for pk, name, site, site_name, kind, vendor, baseline, cores, memory, nic, state in rows:
        hosts[pk] = TargetHost(
            pk, name, site, site_name, kind, vendor, BASELINE_LEVELS.get(baseline, 0), cores, float(memory), nic,
            state,
        )  # fmt: skip
    for host_id, usage in host_usage().items():
        if host_id in hosts:
            hosts[host_id].alloc_memory += usage.memory_bytes
            hosts[host_id].alloc_vcpus += usage.vcpus
    for ds_id, host_id in Datastore.hosts.through.objects.values_list("datastore_id", "host_id"):
        if host_id in hosts:
            hosts[host_id].datastores.add(ds_id)
    return hosts


def _links() -> dict[frozenset, LinkInfo]:
    """Every link by its two sites, with how many migrations use it now."""
    active = dict(
        Migration.objects.filter(state__in=ACTIVE_STATES, cloud_link__isnull=False)
        .order_by()
        .values_list("cloud_link_id")
        .annotate(n=Count("id"))
    )
    links = {}
    for pk, a, b, mbit, rtt, loss, ratio in CloudLink.objects.values_list(
        "pk", "site_a_id", "site_b_id", "bandwidth_mbit", "rtt_ms", "loss_percent", "compression_ratio"
    ):
        links[frozenset((a, b))] = LinkInfo(pk, mbit, rtt, loss, ratio, active=active.get(pk, 0))
    return links


def _mark_evacuating(hosts: dict[int, TargetHost]) -> None:
    """Each host being emptied by a running evacuation takes nothing new (the pre-checks' rule: `evacuating_hosts`)."""
    evacuating = evacuating_hosts()
    if evacuating.by_host or evacuating.by_site:
        for host in hosts.values():
            host.evacuation = evacuating.of(host.pk, host.site_id)


def _simulated_use(hosts: dict[int, TargetHost], *, seed: int, at: datetime) -> dict[int, tuple[float, float]]:
    """Every workload's simulated use at `at` (busy cores, memory in use), added up on its host."""
    fleet = load_fleet(seed)
    use = {}
    ids = fleet.arrays.workload_ids
    for pk, host_id, (cpu, mem) in zip(ids, fleet.host_of, fleet_use(fleet, at, tick_of(at)), strict=True):
        use[pk] = (cpu, mem)
        host = hosts[host_id]
        host.busy_cores += cpu
        host.used_memory += mem
    return use


@dataclass
class TargetIndex:
    """Every host (as a possible destination) and the facts pre-checks need, at one basis instant."""

    at: datetime
    hosts: dict[int, TargetHost]
    site_segments: dict[int, set[int]]
    links: dict[frozenset, LinkInfo]
    use: dict[int, tuple[float, float]]  # workload id -> (busy cores, memory in use)
    # The hosts and links themselves, for the engine's transport inputs (streams, buffers, cipher, MTU, RTT, loss).
    host_models: dict[int, Host] = field(default_factory=dict)
    link_models: dict[int, CloudLink] = field(default_factory=dict)
    rules: RuleBook = field(default_factory=RuleBook)  # placement rules; `commit()` moves their members
    _site_why: dict[tuple, str | None] = field(default_factory=dict, repr=False)  # `site_blocker`'s answers
    _link_pairs: dict[tuple[int, int], LinkInfo | None] = field(default_factory=dict, repr=False)  # `link`'s

    @classmethod
    def load(cls, *, seed: int, at: datetime) -> TargetIndex:
        """Read the index in a fixed number of queries (see the module docstring)."""
        hosts = _target_hosts()
        _mark_evacuating(hosts)
        use = _simulated_use(hosts, seed=seed, at=at)
        site_segments: dict[int, set[int]] = defaultdict(set)
        for seg_id, site_id in NetworkSegment.sites.through.objects.values_list("networksegment_id", "site_id"):
            site_segments[site_id].add(seg_id)
        return cls(
            at=at, hosts=hosts, site_segments=site_segments, links=_links(), use=use, rules=rule_book_load(),
            host_models=Host.objects.in_bulk(), link_models=CloudLink.objects.in_bulk(),
        )  # fmt: skip

    def candidate(self, workload: WorkloadRow) -> Candidate:
        cpu, mem = self.use.get(workload.pk, (0.0, 0.0))
        return Candidate(workload, cpu, mem, workload.power_state == PowerState.ON)

    def link(self, a: int, b: int) -> LinkInfo | None:
        """The link between sites `a` and `b` (either way round), found once per ordered pair (a planned move
        between sites asks)."""
        pair = (a, b)
        if pair not in self._link_pairs:
            self._link_pairs[pair] = self.links.get(frozenset(pair))
        return self._link_pairs[pair]

    def blocker(self, c: Candidate, target: TargetHost) -> str | None:
        """The first reason `target` cannot take the workload (the host pre-checks, in memory), or None."""
        w = c.workload
        source = self.hosts[w.host_id]
        if target.pk == source.pk:
            return "its own host"
        if target.state != HostState.CONNECTED:
            return f"host {target.name} is {target.state}"
        if target.evacuation is not None:
            return f"host {target.name} is being evacuated (evacuation #{target.evacuation})"
        if c.live and (target.vendor != source.vendor or target.baseline_level < source.baseline_level):
            return f"host {target.name}'s CPUs are not compatible"
        if w.vcpus > target.cores:
            return f"host {target.name} has too few cores"
        if c.live and w.memory_bytes > target.memory_bytes - target.alloc_memory:
            return f"host {target.name} has {format_bytes(max(target.memory_bytes - target.alloc_memory, 0))} free"
        if c.live and target.alloc_vcpus + w.vcpus > target.vcpu_capacity:
            return f"host {target.name} has no vCPUs to spare"
        why = self.site_blocker(c, source, target.site_id, target.site_name)
        if why:
            return why
        if self.rules.rules_of(w.pk):  # a workload in no rule breaks none (most of them: no spot to make)
            broken = self.rules.broken_on(w.pk, w.name, Spot(target.name, target.site_name))
            if broken:
                return broken[0]
        return None

    def site_blocker(self, c: Candidate, source: TargetHost, site_id: int, site_name: str) -> str | None:
        """The first reason no host of the site can take the workload (segment, link), or None; found once per kind
        of move (what it reads, segments and links, stays the same while planning: `commit` counts moves only)."""
        asked = (c.workload.segment_id, source.site_id, site_id, site_name, c.live)
        why = self._site_why.get(asked, False)
        if why is False:
            why = self._site_why[asked] = self._site_blocker(c, source, site_id, site_name)
        return why

    def _site_blocker(self, c: Candidate, source: TargetHost, site_id: int, site_name: str) -> str | None:
        if c.workload.segment_id not in self.site_segments.get(site_id, ()):
            return f"its segment is not present on {site_name}"
        if site_id != source.site_id:
            link = self.link(source.site_id, site_id)
            if link is None:
                return f"no link to {site_name}"
            if c.live and link.rtt_ms > MAX_RTT_MS:
                return f"the link to {site_name} is {link.rtt_ms:g} ms"
            if link.bandwidth_mbit < MIN_MBIT_PER_MIGRATION:  # beyond its admission limit a move waits its turn
                return f"the link to {site_name} is too narrow for even one migration"
        return None

    def commit(self, c: Candidate, target: TargetHost) -> None:
        """Account for a planned move: the target takes the workload's allocation and use; the source loses it."""
        w = c.workload
        source = self.hosts[w.host_id]
        if c.live:
            target.alloc_memory += w.memory_bytes
            target.alloc_vcpus += w.vcpus
            source.alloc_memory -= w.memory_bytes
            source.alloc_vcpus -= w.vcpus
        target.busy_cores += c.busy_cores
        target.used_memory += c.used_memory
        source.busy_cores -= c.busy_cores
        source.used_memory -= c.used_memory
        if self.rules.rules_of(w.pk):  # only a rule's member has a spot to move
            self.rules.move(w.pk, w.name, Spot(target.name, target.site_name))
        if target.site_id != source.site_id:
            link = self.link(source.site_id, target.site_id)
            if link is not None:
                link.planned += 1

    def site_load(self, site_id: int) -> tuple[float, float]:
        cores = busy = mem = used = 0.0
        for h in self.hosts.values():
            if h.site_id == site_id:
                cores += h.cores
                busy += min(h.busy_cores, h.cores)
                mem += h.memory_bytes
                used += h.used_memory
        return telemetry.pct(busy, cores), telemetry.pct(used, mem)


def cost_of_moving(w: Workload) -> float:
    """How expensive a live move is, roughly: the memory to copy, inflated by how fast the guest dirties it."""
    return w.memory_bytes * (1.0 + w.dirty_rate_bps / 50e6)


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Planning makes hundreds of thousands of small objects (rows, candidates, instances, the wave's simulations)
    and no cycle worth collecting meanwhile: the cyclic collector would re-scan them all again and again (as the
    engine's `plan_wave` knows). Paused for the block, restored after it.

    What the block made and still holds then (mostly the plan it returns) joins the oldest generation without a
    scan, unless something froze objects before (a pre-forking server: theirs stay frozen): left in the youngest,
    the first collection after the block would walk every one of them (0.2 s after planning 100,000 moves), though
    the plan is freed by reference counting when its caller drops it; a cycle left behind is collected by the next
    full collection."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            if gc.get_freeze_count() == 0:
                gc.freeze()  # every tracked object to the permanent generation, then all of it to the oldest one
                gc.unfreeze()
            gc.enable()
