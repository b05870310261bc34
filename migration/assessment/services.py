"""Writes of the assessment app: create an assessment (queued, computed on commit by a Celery task), compute it
(idempotent, under a lease), re-run it with edited assumptions.

The computation reuses the product's rules rather than restating them: every workload goes through
`precheck_migration` (one shared `PrecheckContext`, whose link between a source site and the destination is the
scenario's), its engine inputs come from `engine_params`, the waves from the engine's `plan_wave`, the default
dirty rates from `inventory.assumptions` and the destination's capacity from `inventory.selectors.site_capacities`.
Nothing here starts a migration.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from celery import current_app
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from hybridcloud.core.audit import audit_record
from inventory.assumptions import DIRTY_RULES, dirty_rule_for, workload_dirty_assumption
from inventory.choices import PowerState
from inventory.links import MIN_MBIT_PER_MIGRATION, migration_slots
from inventory.models import CloudLink, Cluster, Estate, Site, Workload
from inventory.selectors import site_capacities
from inventory.usage import Reservation
from migration.assessment import selectors
from migration.assessment.choices import AssessmentStatus, DirtySource, MoveMode, ScopeKind
from migration.assessment.models import Assessment, AssessmentRow
from migration.choices import MigrationKind, MigrationPolicy
from migration.engine import LinkSpec, PrecopyParams, plan_wave
from migration.prechecks import LIMIT_LABELS, PrecheckContext, engine_params, precheck_migration

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=120)
COMPUTE_TASK = "migration.assessment.tasks.compute_assessment"
PROGRESS_EVERY_S = 0.5
MB = 1_000_000
DIRTY_RULE_LABELS = {rule.role: rule.label for rule in DIRTY_RULES}


class AssessmentRefused(ValueError):
    """The assessment cannot be made as asked; `errors` maps each field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


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


def _user(user: AbstractBaseUser | None) -> AbstractBaseUser | None:
    return user if user is not None and user.is_authenticated else None


def assessment_create(
    *,
    scope_kind: str,
    destination: Site,
    scope_site: Site | None = None,
    scope_cluster: Cluster | None = None,
    scope_estate: Estate | None = None,
    scope_query: str = "",
    scenario: dict | None = None,
    overrides: dict | None = None,
    name: str = "",
    user: AbstractBaseUser | None = None,
    based_on: Assessment | None = None,
    link_note: str | None = None,
) -> Assessment:
    """Save an assessment (queued) and compute it in the background once the row is committed.

    The scenario's missing figures come from the real link between the scope's site and the destination; when
    there is none, bandwidth and RTT must be given. Refused (nothing saved) with an error per field."""
    scenario = {k: v for k, v in (scenario or {}).items() if v is not None and v != ""}
    errors: dict[str, str] = {}
    if scope_kind == ScopeKind.FILTER:
        errors |= {f"scope.query.{k}": v for k, v in selectors.scope_query_errors(scope_query).items()}
    if errors:
        raise AssessmentRefused(errors)
    scope = {
        "kind": scope_kind,
        "site": scope_site,
        "cluster": scope_cluster,
        "estate": scope_estate,
        "query": scope_query,
    }
    workloads = selectors.scope_workloads(**scope)
    sources = selectors.scope_source_sites(workloads)
    if not sources:
        raise AssessmentRefused({"scope": "The scope has no workloads: there is nothing to assess."})
    if all(s.pk == destination.pk for s in sources):
        raise AssessmentRefused({"destination": f"Every workload of the scope already runs on {destination.name}."})
    defaults = selectors.scenario_defaults(sources=sources, destination=destination)
    values = defaults.values | scenario
    for required in ("bandwidth_mbit", "rtt_ms"):
        if values.get(required) in (None, ""):
            errors[f"scenario.{required}"] = (
                f"There is no link between {', '.join(s.name for s in sources)} and {destination.name} to take it "
                "from: give it."
            )
    if errors:
        raise AssessmentRefused(errors)
    given = sorted(set(scenario) & set(selectors.LINK_FIELDS))
    note = f"From {defaults.note}" if defaults.link is not None else f"Entered ({defaults.note})"
    if defaults.link is not None and given:
        note += f"; changed here: {', '.join(f.replace('_', ' ') for f in given)}"
    note = link_note if link_note is not None else note  # a re-run keeps what its original said
    assessment = Assessment(
        name=name, scope_kind=scope_kind, scope_site=scope_site, scope_cluster=scope_cluster,
        scope_estate=scope_estate, scope_query=scope_query, scope_label=selectors.scope_label(**scope),
        destination=destination, link_note=note[:300], overrides=overrides or {}, created_by=_user(user),
        based_on=based_on, **{k: values.get(k) for k in selectors.SCENARIO_FIELDS},
    )  # fmt: skip
    try:
        assessment.full_clean()
    except Exception as exc:  # a ValidationError: keep its field names, under the API's names
        details = getattr(exc, "message_dict", {"__all__": [str(exc)]})
        raise AssessmentRefused(
            {(f"scenario.{k}" if k in selectors.SCENARIO_FIELDS else k): " ".join(v) for k, v in details.items()}
        ) from None
    with transaction.atomic():
        assessment.save()
        audit_record(
            action="assessment.create", target=assessment, actor=_user(user),
            after={"scope": assessment.scope_label, "destination": destination.name,
                   **{k: getattr(assessment, k) for k in selectors.SCENARIO_FIELDS}, "overrides": assessment.overrides},
            message=f"Assessment #{assessment.pk} of {assessment.scope_label} → {destination.name} queued.",
        )  # fmt: skip
        transaction.on_commit(lambda: _enqueue(assessment.pk))
    return assessment


def _enqueue(assessment_id: int) -> None:
    # By name: the tasks module imports this one (a task is an API over a service).
    current_app.send_task(COMPUTE_TASK, args=[assessment_id])


def assessment_rerun(
    *, assessment: Assessment, dirty_rate_mb_s: dict[str, float], user: AbstractBaseUser | None
) -> Assessment:
    """A new assessment with the same scope and scenario and edited dirty-rate assumptions (MB/s per class), so
    that the two can be compared side by side."""
    overrides = dict(assessment.overrides or {})
    rates = dict(overrides.get("dirty_rate_bps", {}))
    for key, mb_s in dirty_rate_mb_s.items():
        if mb_s is None:
            rates.pop(key, None)
        else:
            rates[key] = float(mb_s) * MB
    overrides["dirty_rate_bps"] = rates
    return assessment_create(
        scope_kind=assessment.scope_kind, destination=assessment.destination, scope_site=assessment.scope_site,
        scope_cluster=assessment.scope_cluster, scope_estate=assessment.scope_estate,
        scope_query=assessment.scope_query,
        scenario={k: getattr(assessment, k) for k in selectors.SCENARIO_FIELDS}, overrides=overrides,
        name=assessment.name, user=user, based_on=assessment, link_note=assessment.link_note,
    )  # fmt: skip


# -- compute --------------------------------------------------------------------------------------------------------


def assessment_compute(*, assessment_id: int) -> str:
    """Compute one assessment: claim it (queued, or running with an expired lease), work under the lease, then
    replace its rows and mark it done in one transaction, conditional on still holding the claim. A duplicate or
    late task changes nothing; a computation that raises marks it failed with the reason. Returns the status."""
    now = timezone.now()
    claimable = Q(status=AssessmentStatus.QUEUED) | Q(status=AssessmentStatus.RUNNING, lease_until__lt=now)
    claimed = Assessment.objects.filter(claimable, pk=assessment_id).update(
        status=AssessmentStatus.RUNNING, started_at=now, lease_until=now + LEASE, attempts=F("attempts") + 1,
        progress_done=0, error="", holder=f"{socket.gethostname()}:{os.getpid()}",
    )  # fmt: skip
    if not claimed:
        return Assessment.objects.filter(pk=assessment_id).values_list("status", flat=True).first() or "missing"
    assessment = Assessment.objects.select_related("destination", "scope_site", "scope_cluster").get(pk=assessment_id)
    mine = Assessment.objects.filter(pk=assessment_id, attempts=assessment.attempts, status=AssessmentStatus.RUNNING)
    last = [time.monotonic()]

    def progress(done: int, total: int) -> None:
        if 0 < done < total and time.monotonic() - last[0] < PROGRESS_EVERY_S:
            return
        last[0] = time.monotonic()
        if not mine.update(progress_done=done, progress_total=total, lease_until=timezone.now() + LEASE):
            raise _LostClaim()

    try:
        outcome = compute(assessment, progress=progress)
    except _LostClaim:
        return Assessment.objects.filter(pk=assessment_id).values_list("status", flat=True).first() or "missing"
    except Exception as exc:
        logger.exception("assessment %s failed", assessment_id)
        mine.update(status=AssessmentStatus.FAILED, error=f"{type(exc).__name__}: {exc}", finished_at=timezone.now())
        return AssessmentStatus.FAILED
    with transaction.atomic():
        if not mine.select_for_update().exists():
            return Assessment.objects.filter(pk=assessment_id).values_list("status", flat=True).first() or "missing"
        AssessmentRow.objects.filter(assessment_id=assessment_id).delete()
        for row in outcome.rows:
            row.assessment_id = assessment_id
        AssessmentRow.objects.bulk_create(outcome.rows, batch_size=1000)
        mine.update(
            status=AssessmentStatus.DONE, summary=outcome.summary, assumptions=outcome.assumptions,
            progress_done=len(outcome.rows), progress_total=len(outcome.rows), finished_at=timezone.now(),
            lease_until=None,
        )  # fmt: skip
    return AssessmentStatus.DONE


class _LostClaim(Exception):
    """Another computation took this assessment over (our lease expired): stop without writing."""


def assessments_resume_stale() -> list[int]:
    """The watchdog: re-enqueue assessments queued for more than a lease (their task was lost) or running with an
    expired lease (their worker died). Each computation claims its row, so enqueueing twice runs it once."""
    now = timezone.now()
    stale = Assessment.objects.filter(
        Q(status=AssessmentStatus.QUEUED, created_at__lt=now - LEASE)
        | Q(status=AssessmentStatus.RUNNING, lease_until__lt=now)
    ).values_list("pk", flat=True)
    ids = list(stale)
    for pk in ids:
        _enqueue(pk)
    return ids


@dataclass
class Outcome:
    rows: list[AssessmentRow]
    summary: dict
    assumptions: list[dict] = field(default_factory=list)


@dataclass
class _Move:
    row: AssessmentRow
    params: PrecopyParams
    group: str


def _dirty(
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


def compute(assessment: Assessment, *, progress: Callable[[int, int], None] | None = None) -> Outcome:
    """The assessment's rows, summary and assumptions (reads only). See the module docstring for what it reuses."""
    progress = progress or (lambda done, total: None)
    a = assessment
    destination = a.destination
    workloads = list(
        selectors.scope_workloads(
            kind=a.scope_kind, site=a.scope_site, cluster=a.scope_cluster, estate=a.scope_estate, query=a.scope_query
        ).select_related("host__cluster__site", "datastore", "segment")
    )  # fmt: skip
    total = len(workloads)
    progress(0, total)
    overrides = {k: float(v) for k, v in (a.overrides or {}).get("dirty_rate_bps", {}).items()}
    measured = selectors.measured_dirty_rates([w.pk for w in workloads])
    context = ScenarioContext(destination=destination, assessment=a)
    context.preload_workloads(workloads)
    rows: list[AssessmentRow] = []
    moves: list[_Move] = []
    classes: dict[tuple[str, str], list] = defaultdict(lambda: [0, 0.0])
    for i, w in enumerate(workloads):
        source_site = w.host.cluster.site
        rate, source, klass, note = _dirty(w, overrides=overrides, measured=measured)
        live = w.power_state == PowerState.ON
        if live:
            stats = classes[(klass, source)]
            stats[0] += 1
            stats[1] += rate
        row = AssessmentRow(
            order=i, workload=w, workload_name=w.name, kind=w.kind, power_state=w.power_state, guest_os=w.guest_os,
            source_site=source_site.name, source_host=w.host.name, vcpus=w.vcpus, memory_bytes=w.memory_bytes,
            disk_bytes=0, dirty_rate_bps=rate if live else 0.0, dirty_source=source, dirty_class=klass,
            mode=MoveMode.BLOCKED,
        )  # fmt: skip
        rows.append(row)
        if source_site.pk == destination.pk:
            row.errors = [f"{w.name} already runs on {destination.name}, the destination."]
        else:
            check = precheck_migration(
                workload=w, destination_site=destination, max_downtime_s=a.max_downtime_s,
                policy=MigrationPolicy.THROTTLE, accept_readdressing=a.accept_readdressing, context=context,
                predict=False,  # the waves below are the prediction
            )  # fmt: skip
            row.errors, row.warnings = list(check.errors), list(check.warnings)
            if not check.errors:
                same_datastore = check.destination_datastore is not None and (
                    check.destination_datastore.pk == w.datastore_id
                )
                row.disk_bytes = 0 if same_datastore else w.disk_bytes
                row.destination_host = check.destination_host.name
                row.mode = {MigrationKind.LIVE: MoveMode.LIVE, MigrationKind.LIVE_STORAGE: MoveMode.LIVE_STORAGE}.get(
                    check.kind, MoveMode.COLD
                )
                if live:
                    context.reserve(host_id=check.destination_host.pk, workload=w)
                w.dirty_rate_bps = rate  # the assumed rate (this instance only, never saved)
                params = engine_params(
                    workload=w,
                    bandwidth_bps=min(w.host.migration_bandwidth_bps, check.destination_host.migration_bandwidth_bps),
                    max_downtime_s=a.max_downtime_s, policy=MigrationPolicy.THROTTLE,
                    compression_ratio=a.compression_ratio, disk_bytes=row.disk_bytes, source_host=w.host,
                    destination_host=check.destination_host, cloud_link=check.cloud_link,
                )  # fmt: skip
                moves.append(_Move(row, params, source_site.name))
        progress(i + 1, total)

    concurrency = max(1, min(a.max_concurrent, migration_slots(a.bandwidth_mbit)))
    link = LinkSpec(
        bandwidth_bps=a.bandwidth_mbit * 1e6 / 8, rtt_s=a.rtt_ms / 1000, loss=a.loss_percent / 100,
        compression_ratio=a.compression_ratio,
    )  # fmt: skip
    window_s = a.window_hours * 3600 if a.window_hours else None
    by_group: dict[str, list[_Move]] = defaultdict(list)
    for move in moves:
        by_group[move.group].append(move)
    waves: list[dict] = []
    makespan = bound = 0.0
    for group, members in sorted(by_group.items()):
        group_time = 0.0
        for number, (indexes, wave) in enumerate(_plan_waves(link, [m.params for m in members], concurrency,
                                                             window_s), start=1):  # fmt: skip
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
            waves.append(
                {"group": group, "wave": number, "workloads": len(indexes), "offset_s": round(group_time, 3),
                 "makespan_s": round(wave.makespan_s, 3), "bytes_sent": wave.total_bytes,
                 "over_window": window_s is not None and wave.makespan_s > window_s}
            )  # fmt: skip
            group_time += wave.makespan_s
        to_copy = sum(m.params.memory_bytes + m.params.disk_bytes for m in members)
        group_bound = to_copy / (link.bandwidth_bps * a.compression_ratio)
        makespan, bound = max(makespan, group_time), max(bound, group_bound)

    summary = _summary(a, rows, moves, waves, makespan, bound, concurrency, window_s)
    assumptions = _assumptions(a, classes, concurrency, overrides)
    return Outcome(rows, summary, assumptions)


def _plan_waves(
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


def _summary(a, rows, moves, waves, makespan, bound, concurrency, window_s) -> dict:
    counts = defaultdict(int)
    for row in rows:
        counts[row.mode] += 1
    movable = [m.row for m in moves]
    live = [r for r in movable if r.power_state == PowerState.ON]
    converged = sum(1 for r in live if r.converged)
    throttled = sum(1 for r in live if r.converged and r.throttle > 0)
    durations = sorted(r.end_s - r.start_s for r in movable if r.end_s is not None)
    downtimes = sorted(r.downtime_s for r in live if r.downtime_s is not None)
    capacity = site_capacities(site_id=a.destination_id)[0]
    need = {
        "vcpus": sum(r.vcpus for r in live),
        "memory_bytes": sum(r.memory_bytes for r in live),
        "storage_bytes": sum(r.disk_bytes for r in movable),
    }
    dest = {
        "vcpus": {"capacity": capacity.vcpu_capacity, "used": capacity.vcpus_used, "needed": need["vcpus"]},
        "memory_bytes": {"capacity": capacity.memory_bytes, "used": capacity.memory_used_bytes,
                         "needed": need["memory_bytes"]},
        "storage_bytes": {"capacity": capacity.storage_bytes, "used": capacity.storage_used_bytes,
                          "needed": need["storage_bytes"]},
    }  # fmt: skip
    for item in dest.values():
        item["free"] = item["capacity"] - item["used"]
        item["fits"] = item["needed"] <= item["free"]
    errors: dict[str, int] = defaultdict(int)
    for row in rows:
        for message in row.errors[:1]:
            errors[_error_kind(message)] += 1
    limits: dict[str, int] = defaultdict(int)
    for r in movable:
        if r.limit:
            limits[LIMIT_LABELS.get(r.limit, r.limit)] += 1

    def pick(values: list[float], q: float) -> float | None:
        return round(values[min(len(values) - 1, int(q * len(values)))], 3) if values else None

    return {
        "workloads": len(rows),
        "movable": len(movable),
        "blocked": counts[MoveMode.BLOCKED],
        "modes": dict(counts),
        "live": len(live),
        "converged": converged,
        "converged_alone": converged - throttled,
        "throttled": throttled,
        "not_converged": len(live) - converged,
        "makespan_s": round(makespan, 3),
        "physical_bound_s": round(bound, 3),
        "bound_ratio": round(makespan / bound, 2) if bound > 0 else None,
        "bytes_to_copy": sum(r.memory_bytes + r.disk_bytes for r in movable),
        "bytes_sent": sum(r.bytes_sent or 0 for r in movable),
        "concurrency": concurrency,
        "waves": waves,
        "wave_count": max((w["wave"] for w in waves), default=0),
        "window_s": window_s,
        "fits_window": None
        if window_s is None
        else all(not w["over_window"] for w in waves) and len({w["wave"] for w in waves}) <= 1,  # fmt: skip
        "over_window": sum(1 for r in movable if r.over_window),
        "duration_median_s": pick(durations, 0.5),
        "duration_p95_s": pick(durations, 0.95),
        "duration_max_s": durations[-1] if durations else None,
        "downtime_median_s": pick(downtimes, 0.5),
        "downtime_max_s": downtimes[-1] if downtimes else None,
        "destination_capacity": dest,
        "capacity_fits": all(item["fits"] for item in dest.values()),
        "blocked_by": dict(sorted(errors.items(), key=lambda kv: -kv[1])),
        "limits": dict(limits),
    }


def _error_kind(message: str) -> str:
    """A pre-check error's gist, to count how many workloads each kind of reason blocks."""
    text = message.lower()
    for needle, label in (
        ("already runs on", "already at the destination"), ("cpu", "CPU not compatible"),
        ("segment", "network segment not at the destination"), ("memory free", "no host with the memory"),
        ("vcpus", "no host with the vCPUs"), ("round-trip", "RTT above the live-migration limit"),
        ("mbit/s", "bandwidth per migration below the minimum"), ("no cloud link", "no link"),
        ("datastore", "no datastore with room"), ("already being migrated", "already migrating"),
        ("no host", "no host can take it"), ("evacuat", "hosts being evacuated"),
    ):  # fmt: skip
        if needle in text:
            return label
    return "other"


def _assumptions(a: Assessment, classes: dict, concurrency: int, overrides: dict[str, float]) -> list[dict]:
    """Every figure the computation assumed, as the page lists it; the dirty-rate ones are editable."""
    out: list[dict] = []
    by_class: dict[str, dict] = {}
    for (klass, source), (count, total) in sorted(classes.items()):
        entry = by_class.setdefault(
            klass,
            {"kind": "dirty_rate", "key": klass, "label": f"Dirty rate: {DIRTY_RULE_LABELS.get(klass, klass)}",
             "workloads": 0, "sources": {}, "editable": True,
             "override_mb_s": overrides[klass] / MB if klass in overrides else None},
        )  # fmt: skip
        entry["workloads"] += count
        entry["sources"][DirtySource(source).label] = {"workloads": count, "mean_mb_s": round(total / count / MB, 2)}
    for entry in by_class.values():
        rule = next((r for r in DIRTY_RULES if r.role == entry["key"]), None)
        entry["default_mb_s"] = rule.dirty_mb_s if rule else None
        out.append(entry)
    out += [
        {"kind": "link", "key": "link", "label": "Link figures", "value": a.link_note, "editable": False},
        {"kind": "concurrency", "key": "concurrency", "editable": False,
         "label": "Migrations at once on the link", "value": concurrency,
         "note": f"asked {a.max_concurrent}; at most one per {MIN_MBIT_PER_MIGRATION:g} Mbit/s of the link"},
        {"kind": "policy", "key": "policy", "editable": False, "label": "When pre-copy does not converge",
         "value": "throttle the guest (auto-converge), as migrations do by default"},
        {"kind": "placement", "key": "placement", "editable": False, "label": "Destination host",
         "value": "placement's choice, in scope order, each live move counted against its host for the next ones"},
        {"kind": "readdressing", "key": "readdressing", "editable": False, "label": "Re-addressing",
         "value": "accepted: a workload whose segment is not at the destination gets a new address there"
         if a.accept_readdressing else "not accepted: a workload whose segment is not at the destination cannot move"},
        {"kind": "transport", "key": "transport", "editable": False, "label": "Transport",
         "value": "each host's migration stack (streams, socket buffers, cipher and codec rates) with the scenario's "
         "RTT, loss and encryption, and the real link's MTU (1500 bytes without one)"},
        {"kind": "working_set", "key": "working_set", "editable": False, "label": "Writable working set",
         "value": "the inventory's figure per workload (at most its memory)"},
    ]  # fmt: skip
    return out
