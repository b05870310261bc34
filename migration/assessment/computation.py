"""An assessment's computation (reads only): every workload of the scope through `precheck_migration` (one
shared `ScenarioContext`, whose link between a source site and the destination is the scenario's, and which counts
each planned live move against its destination host for the next ones), its engine inputs from `engine_params`, its
dirty rate by `dirty_rate_of`, then the waves from the engine's `plan_wave`, one maintenance window at a time."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from inventory.assumptions import dirty_rule_for, workload_dirty_assumption
from inventory.choices import PowerState
from inventory.links import mbit_to_bps, migration_slots
from inventory.models import CloudLink, Site, Workload
from inventory.usage import Reservation, takes_room
from migration.assessment import selectors
from migration.assessment.choices import DirtySource, MoveMode
from migration.assessment.models import Assessment, AssessmentRow
from migration.assessment.summary import assumptions, summary
from migration.choices import MigrationKind, MigrationPolicy
from migration.engine import LinkSpec, PrecopyParams, plan_wave
from migration.prechecks import PrecheckContext, PrecheckResult, engine_params, precheck_migration

MODE_OF_KIND = {MigrationKind.LIVE: MoveMode.LIVE, MigrationKind.LIVE_STORAGE: MoveMode.LIVE_STORAGE}


# -- the scenario's link in the pre-checks ---------------------------------------------------------------------------


class ScenarioContext(PrecheckContext):
    """Pre-checks against the scenario: between any source site and the destination, the link is the scenario's
    (an unsaved `CloudLink`), whether or not a real one exists. It keeps the real link's id when there is one, so
    migrations already on that link still count against it; otherwise an id no row has (0), so that no migration
    counts against a link that does not exist."""

    def __init__(self, *, destination: Site, assessment: Assessment) -> None:
        super().__init__()
        self._destination = destination
        self._assessment = assessment
        self._scenario_links: dict[int, CloudLink] = {}

    def reserve(self, *, host_id: int, workload: Workload) -> None:
        """Count a planned (not started) live move against its destination host, so that the next workloads'
        placement and capacity checks see the host as it would be: the assessment's moves fill the destination
        one after another, in scope order, as a real wave would."""
        host = self.host(host_id)
        planned = Reservation(host_id, host.cluster.site_id, workload.pk, workload.memory_bytes, workload.vcpus)
        self._usage[host_id] = self.usage(host_id).plus(planned)

    def link(self, a: Site, b: Site) -> CloudLink | None:
        if a.pk == b.pk or self._destination.pk not in (a.pk, b.pk):
            return super().link(a, b)
        source = a if b.pk == self._destination.pk else b
        if source.pk not in self._scenario_links:
            real = super().link(a, b)
            x = self._assessment
            self._scenario_links[source.pk] = CloudLink(
                pk=real.pk if real is not None else 0, site_a=source, site_b=self._destination,
                bandwidth_mbit=x.bandwidth_mbit, rtt_ms=x.rtt_ms, loss_percent=x.loss_percent,
                compression_ratio=x.compression_ratio, encrypted=x.encrypted,
                mtu_bytes=real.mtu_bytes if real is not None else 1500,
            )  # fmt: skip
        return self._scenario_links[source.pk]


# -- create ---------------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    rows: list[AssessmentRow]
    summary: dict
    assumptions: list[dict] = field(default_factory=list)


@dataclass
class PlannedMove:
    """A workload that passed its pre-checks: its row, its engine inputs and its group (its source site's name)."""

    row: AssessmentRow
    params: PrecopyParams
    group: str


def dirty_rate_of(
    w: Workload, *, overrides: dict[str, float], measured: dict[int, tuple[float, int]]
) -> tuple[float, str, str, str]:
    """(bytes/s, source, class, note) of a workload's dirty rate: an edited class figure first, then what its past
    migrations measured, then the inventory's figure, then the documented default of its class."""
    rule = dirty_rule_for(name=w.name, guest_os=w.guest_os, annotation=w.annotation)
    if rule.role in overrides:
        return float(overrides[rule.role]), DirtySource.OVERRIDE, rule.role, "edited for this assessment"
    if w.pk in measured:
        rate, migration_id = measured[w.pk]
        return rate, DirtySource.TELEMETRY, rule.role, f"measured in migration #{migration_id}"
    # An imported workload's figure is the table's default (RVTools has none); one entered by hand is the product's.
    if w.dirty_rate_bps and w.estate_id is None:
        return float(w.dirty_rate_bps), DirtySource.INVENTORY, rule.role, "the inventory's figure"
    default = workload_dirty_assumption(
        name=w.name, guest_os=w.guest_os, memory_bytes=w.memory_bytes, annotation=w.annotation
    )
    return float(default.dirty_rate_bps), DirtySource.DEFAULT, rule.role, default.rule


@dataclass
class _Inputs:
    """What the computation reads once: the scope's workloads, the dirty-rate overrides and measurements, the
    shared pre-check context, and the tally of assumed rates per (class, source) for the assumptions list."""

    assessment: Assessment
    workloads: list[Workload]
    overrides: dict[str, float]
    measured: dict[int, tuple[float, int]]
    context: ScenarioContext
    classes: dict[tuple[str, str], list] = field(default_factory=lambda: defaultdict(lambda: [0, 0.0]))


def _inputs(a: Assessment) -> _Inputs:
    workloads = list(
        selectors.scope_workloads(
            kind=a.scope_kind, site=a.scope_site, cluster=a.scope_cluster, estate=a.scope_estate, query=a.scope_query
        ).select_related("host__cluster__site", "datastore", "segment")
    )  # fmt: skip
    context = ScenarioContext(destination=a.destination, assessment=a)
    context.preload_workloads(workloads)
    return _Inputs(
        assessment=a,
        workloads=workloads,
        overrides={k: float(v) for k, v in (a.overrides or {}).get("dirty_rate_bps", {}).items()},
        measured=selectors.measured_dirty_rates([w.pk for w in workloads]),
        context=context,
    )


def _row(order: int, w: Workload, rate: float, source: str, klass: str) -> AssessmentRow:
    """The workload's row, blocked until its pre-checks pass."""
    return AssessmentRow(
        order=order, workload=w, workload_name=w.name, kind=w.kind, power_state=w.power_state, guest_os=w.guest_os,
        source_site=w.host.cluster.site.name, source_host=w.host.name, vcpus=w.vcpus, memory_bytes=w.memory_bytes,
        disk_bytes=0, dirty_rate_bps=rate if takes_room(w.power_state) else 0.0, dirty_source=source,
        dirty_class=klass, mode=MoveMode.BLOCKED,
    )  # fmt: skip


def _planned(inputs: _Inputs, w: Workload, row: AssessmentRow, check: PrecheckResult, rate: float) -> PlannedMove:
    """A move that passed its pre-checks: its row filled in, its room taken on its destination host (so the next
    workloads see the host as it would be), its engine inputs at the assumed dirty rate."""
    a, destination = inputs.assessment, check.destination_host
    same_datastore = check.destination_datastore is not None and check.destination_datastore.pk == w.datastore_id
    row.disk_bytes = 0 if same_datastore else w.disk_bytes
    row.destination_host = destination.name
    row.mode = MODE_OF_KIND.get(check.kind, MoveMode.COLD)
    if takes_room(w.power_state):
        inputs.context.reserve(host_id=destination.pk, workload=w)
    w.dirty_rate_bps = rate  # the assumed rate (this instance only, never saved)
    params = engine_params(
        workload=w,
        bandwidth_bps=min(w.host.migration_bandwidth_bps, destination.migration_bandwidth_bps),
        max_downtime_s=a.max_downtime_s, policy=MigrationPolicy.THROTTLE, compression_ratio=a.compression_ratio,
        disk_bytes=row.disk_bytes, source_host=w.host, destination_host=destination, cloud_link=check.cloud_link,
    )  # fmt: skip
    return PlannedMove(row, params, w.host.cluster.site.name)


def _check_workload(inputs: _Inputs, order: int, w: Workload) -> tuple[AssessmentRow, PlannedMove | None]:
    """One workload's row and, when its pre-checks pass, its planned move."""
    a = inputs.assessment
    rate, source, klass, _note = dirty_rate_of(w, overrides=inputs.overrides, measured=inputs.measured)
    if takes_room(w.power_state):
        stats = inputs.classes[(klass, source)]
        stats[0] += 1
        stats[1] += rate
    row = _row(order, w, rate, source, klass)
    if w.host.cluster.site_id == a.destination_id:
        row.errors = [f"{w.name} already runs on {a.destination.name}, the destination."]
        return row, None
    check = precheck_migration(
        workload=w, destination_site=a.destination, max_downtime_s=a.max_downtime_s,
        policy=MigrationPolicy.THROTTLE, accept_readdressing=a.accept_readdressing, context=inputs.context,
        predict=False,  # the waves are the prediction
    )  # fmt: skip
    row.errors, row.warnings = list(check.errors), list(check.warnings)
    if check.errors:
        return row, None
    return row, _planned(inputs, w, row, check, rate)


def _record_wave(members: list[PlannedMove], indexes: list[int], wave, number: int, window_s: float | None) -> None:
    """Each move's place and the engine's figures for it in wave `number`, on its row."""
    for k, item in zip(indexes, wave.items, strict=True):
        row = members[k].row
        result = item.result
        row.wave, row.start_s, row.end_s = number, round(item.start_s, 3), round(item.end_s, 3)
        row.downtime_s, row.outcome = round(item.downtime_s, 4), item.outcome
        row.converged = item.converged if row.power_state == PowerState.ON else None
        row.throttle = result.throttle
        row.rounds, row.bytes_sent, row.reason = item.rounds, item.bytes_sent, result.reason
        row.limit, row.rate_bps, row.limit_sentence = result.limit, result.rate_bps, result.limit_sentence
        row.over_window = window_s is not None and item.end_s > window_s


def _schedule(a: Assessment, moves: list[PlannedMove], concurrency: int) -> tuple[list[dict], float, float]:
    """The waves of each source site's moves over the scenario's link: (waves, makespan, the physical bound: every
    byte at the link's effective rate)."""
    link = LinkSpec(
        bandwidth_bps=mbit_to_bps(a.bandwidth_mbit), rtt_s=a.rtt_ms / 1000, loss=a.loss_percent / 100,
        compression_ratio=a.compression_ratio,
    )  # fmt: skip
    window_s = a.window_hours * 3600 if a.window_hours else None
    by_group: dict[str, list[PlannedMove]] = defaultdict(list)
    for move in moves:
        by_group[move.group].append(move)
    waves: list[dict] = []
    makespan = bound = 0.0
    for group, members in sorted(by_group.items()):
        group_time = 0.0
        planned = plan_waves(link, [m.params for m in members], concurrency, window_s)
        for number, (indexes, wave) in enumerate(planned, start=1):
            _record_wave(members, indexes, wave, number, window_s)
            waves.append(
                {"group": group, "wave": number, "workloads": len(indexes), "offset_s": round(group_time, 3),
                 "makespan_s": round(wave.makespan_s, 3), "bytes_sent": wave.total_bytes,
                 "over_window": window_s is not None and wave.makespan_s > window_s}
            )  # fmt: skip
            group_time += wave.makespan_s
        to_copy = sum(m.params.memory_bytes + m.params.disk_bytes for m in members)
        makespan, bound = max(makespan, group_time), max(bound, to_copy / (link.bandwidth_bps * a.compression_ratio))
    return waves, makespan, bound


def compute(assessment: Assessment, *, progress: Callable[[int, int], None] | None = None) -> Outcome:
    """The assessment's rows, summary and assumptions (reads only)."""
    progress = progress or (lambda done, total: None)
    a = assessment
    inputs = _inputs(a)
    total = len(inputs.workloads)
    progress(0, total)
    rows: list[AssessmentRow] = []
    moves: list[PlannedMove] = []
    for i, w in enumerate(inputs.workloads):
        row, move = _check_workload(inputs, i, w)
        rows.append(row)
        if move is not None:
            moves.append(move)
        progress(i + 1, total)
    concurrency = max(1, min(a.max_concurrent, migration_slots(a.bandwidth_mbit)))
    waves, makespan, bound = _schedule(a, moves, concurrency)
    window_s = a.window_hours * 3600 if a.window_hours else None
    movable = [m.row for m in moves]
    return Outcome(
        rows,
        summary(a, rows, movable, waves, makespan, bound, concurrency, window_s),
        assumptions(a, inputs.classes, concurrency, inputs.overrides),
    )


def plan_waves(
    link: LinkSpec, params: list[PrecopyParams], concurrency: int, window_s: float | None
) -> list[tuple[list[int], object]]:
    """Split the moves, in order, into waves that each fit one maintenance window (one wave when there is no
    window): the longest prefix whose every move ends within the window in the engine's plan. A move that alone
    runs longer than a window is a wave of its own, marked over the window. Planning a prefix never looks at more
    than a few times the moves that fit, so many waves stay cheap."""
    if not params:
        return []
    if window_s is None:
        return [(list(range(len(params))), plan_wave(link, params, max_concurrent=concurrency))]
    out = []
    start = 0
    n = len(params)
    while start < n:
        size = min(n - start, max(4 * concurrency, 32))
        while True:
            wave = plan_wave(link, params[start : start + size], max_concurrent=concurrency)
            cut = next((j for j, item in enumerate(wave.items) if item.end_s > window_s), None)
            if cut is None and start + size < n:
                size = min(n - start, size * 2)
                continue
            break
        if cut is None:
            take = size
        elif cut == 0:
            take = 1
            wave = plan_wave(link, params[start : start + 1], max_concurrent=concurrency)
        else:
            take = cut
            wave = plan_wave(link, params[start : start + take], max_concurrent=concurrency)
        out.append((list(range(start, start + take)), wave))
        start += take
    return out
