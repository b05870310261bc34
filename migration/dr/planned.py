"""A planned migration of a recovery plan: the real move of its workloads to the recovery site.

Unlike a test drill, nothing is simulated here and production really changes: each group, in priority
order, is moved with the live-migration service (`migration.services.migration_start`, pre-checks and
all), and the run stops at the first error of the protected site — a workload the pre-checks refuse (for
example one on a segment that is not stretched to the recovery site), or a migration that fails — skipping
every later step with "stopped after the first error". The verify step checks that every moved workload now
runs on the recovery site with the IP it had; it does not compare production before and after (a planned
migration is meant to change it).

No worker process waits for a migration here (hundreds run at once, a prefork process runs one task at a
time): the run is a state machine that `planned_migration_step` advances by one short step per task
(start a group's migrations, or look at them and finish the group when they have all ended), then
re-enqueues itself with a countdown. Each step runs under the run's lease (`migration.dr.runner.drill_step`
claims `step_token` n → n+1 in the same transaction as its work, see migration/dr/leases.py), so a duplicate
delivery of step n finds the token taken and does nothing, a worker killed mid-step rolls back, and the
watchdog resumes a run whose worker died. Cancelling the run cancels the
migrations that have not switched over yet (`cancel_planned_migrations`); those workloads stay on their
source.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone

from hybridcloud.core.units import format_duration
from inventory.models import Workload
from migration.choices import CANCELLABLE_STATES, FINAL_STATES, MigrationState
from migration.dr.choices import DrillState, ResultState, StepKind, StepState, Verdict
from migration.dr.models import DrillRun, DrillStep, DrillWorkloadResult, ProtectedWorkload
from migration.models import Migration
from migration.services import MigrationRefused, migration_cancel, migration_start

logger = logging.getLogger(__name__)

STOPPED = "Not run: stopped after the first error."
CANCELLED = "Not run: the planned migration was cancelled."
#: Wall-clock allowance per group on top of its predicted time scaled by the simulation speed.
WAIT_BASE_S = 60.0
WAIT_FACTOR = 3.0
#: Bounds of the countdown before a group's migrations are looked at again (wall seconds).
CHECK_MIN_S = 0.25
CHECK_MAX_S = 5.0


def _scaled_s(migrations: list[Migration]) -> float:
    """The group's predicted time, run one after the other in the worst case, in wall seconds."""
    predicted = sum(float(m.prediction.get("total_time_s") or 0) for m in migrations)
    return predicted / max(float(settings.SIMULATION_SPEED), 1e-9)


def _wait_cap_s(migrations: list[Migration]) -> float:
    """How long (wall seconds) a group's migrations may take before the step gives up on them."""
    return WAIT_BASE_S + WAIT_FACTOR * _scaled_s(migrations)


def _check_after_s(migrations: list[Migration]) -> float:
    """When to look again: a tenth of the group's scaled predicted time, within bounds."""
    return min(max(_scaled_s(migrations) / 10, CHECK_MIN_S), CHECK_MAX_S)


def _result(run: DrillRun, member: ProtectedWorkload, state: str, reason: str, **extra) -> DrillWorkloadResult:
    # A live move loses no data: the replica is the running workload itself.
    return DrillWorkloadResult(
        run=run,
        workload_id=member.workload_id,
        workload_name=member.workload.name,
        group_id=member.group_id,
        group_name=member.group.name,
        priority=member.group.priority,
        state=state,
        reason=reason,
        rpo_s=member.rpo_s,
        replication_lag_s=0.0,
        rpo_met=True,
        data_loss_window_s=0.0,
        **extra,
    )


def _members(run: DrillRun) -> list[ProtectedWorkload]:
    return list(
        ProtectedWorkload.objects.filter(plan_id=run.plan_id)
        .select_related("workload__host", "group")
        .order_by("group__priority", "workload__name")
    )


# -- beginning -----------------------------------------------------------------------------------------------------


def planned_migration_begin(run: DrillRun) -> None:
    """Lay out the steps of a claimed (running) planned migration (inside the claim's transaction)."""
    plan = run.plan
    groups = list(plan.groups.order_by("priority"))
    specs = [(StepKind.MIGRATE, f"Migrate group {g.priority}: {g.name}", g) for g in groups]
    specs.append((StepKind.VERIFY, "Verify", None))
    ips = {str(m.workload_id): m.workload.ip_address for m in _members(run)}
    DrillStep.objects.bulk_create(
        [
            DrillStep(run=run, order=i, kind=kind, name=name, group=group)
            for i, (kind, name, group) in enumerate(specs, start=1)
        ]
    )
    DrillRun.objects.filter(pk=run.pk).update(ips_before=ips)


# -- one step ------------------------------------------------------------------------------------------------------


def planned_migration_step(run: DrillRun) -> float | None | dict:
    """Advance a run whose step the caller has claimed (inside its transaction): the countdown of the next step,
    None when a cancelled run has wound down, or the fields of the run's terminal transition when every step has
    ended (the caller makes it, once)."""
    return _advance(run)


def _advance(run: DrillRun) -> float | None | dict:
    """Do what the run's first unfinished step needs; steps that finish at once (an empty group, a group refused
    before anything started, verify) are chained within this call."""
    members = _members(run)
    while True:
        steps = list(run.steps.select_related("group").order_by("order"))
        step = next((s for s in steps if s.state in (StepState.PENDING, StepState.RUNNING)), None)
        if step is None:
            return _finish_run(run, steps)
        sim_now = sum(s.sim_duration_s for s in steps if s.order < step.order)
        if run.state == DrillState.CANCELLED and step.state == StepState.PENDING:
            pending = {s.group_id for s in steps if s.state == StepState.PENDING and s.group_id}
            DrillStep.objects.filter(run=run, state=StepState.PENDING).update(state=StepState.SKIPPED, reason=CANCELLED)
            DrillWorkloadResult.objects.bulk_create(
                [_result(run, m, ResultState.SKIPPED, CANCELLED) for m in members if m.group_id in pending]
            )
            continue
        if step.kind == StepKind.VERIFY:
            _verify(run, step, sim_now)
            continue
        group_members = [m for m in members if m.group_id == step.group_id]
        if step.state == StepState.PENDING:
            started = _start_group(run, step, group_members, sim_now)
            if started:
                return _check_after_s(started)
            continue  # nothing is moving: the group can be finished now
        countdown = _check_group(run, step, group_members, members)
        if countdown is not None:
            return countdown


def _start_group(run: DrillRun, step: DrillStep, members: list[ProtectedWorkload], sim_now: float) -> list[Migration]:
    """Start the live migration of every workload of the group; stop at the first one the pre-checks refuse
    (its result says why, the rest of the group is not attempted). Returns the migrations started."""
    DrillStep.objects.filter(pk=step.pk, state=StepState.PENDING).update(
        state=StepState.RUNNING, started_at=timezone.now(), sim_start_s=sim_now
    )
    plan = run.plan
    purpose = f"Planned migration of plan {plan.name} (drill run #{run.pk})"
    started: list[Migration] = []
    refused: list[DrillWorkloadResult] = []
    for i, member in enumerate(members):
        try:
            started.append(
                migration_start(
                    workload=member.workload,
                    destination_site=plan.recovery_site,
                    requested_by=run.started_by,
                    # The operator's own words from the confirm page; without them a warning refuses the move.
                    override_reason=run.override_reason,
                    reason=purpose,
                )
            )
        except MigrationRefused as exc:
            refused = [
                _result(run, member, ResultState.FAILED, " ".join(exc.errors)),
                *(_result(run, m, ResultState.SKIPPED, STOPPED) for m in members[i + 1 :]),
            ]
            break
    step.migrations.add(*started)
    DrillWorkloadResult.objects.bulk_create(refused)
    return started


def _check_group(
    run: DrillRun, step: DrillStep, members: list[ProtectedWorkload], all_members: list[ProtectedWorkload]
) -> float | None:
    """Look at the group's migrations: the countdown to look again while any is moving, else finish the step."""
    migrations = list(step.migrations.select_related("destination_host", "source_host").order_by("pk"))
    moving = [m for m in migrations if m.state not in FINAL_STATES]
    waited = (timezone.now() - step.started_at).total_seconds() if step.started_at else 0.0
    if moving and waited < _wait_cap_s(migrations):
        return _check_after_s(moving)

    cancelled_run = run.state == DrillState.CANCELLED
    results = _group_results(run, step, members, migrations, cancelled_run)
    earlier = list(DrillWorkloadResult.objects.filter(run=run, group_id=step.group_id))
    state, reason, duration = _group_verdict(run, earlier + results, cancelled_run)
    finished = DrillStep.objects.filter(pk=step.pk, state=StepState.RUNNING).update(
        state=state,
        reason=reason,
        sim_duration_s=duration,
        finished_at=timezone.now(),
        wall_duration_s=waited,
    )
    if not finished:
        return None
    DrillWorkloadResult.objects.bulk_create(results)
    if state == StepState.FAILED:
        # Stop at the first error: nothing after this group is attempted.
        DrillStep.objects.filter(run=run, state=StepState.PENDING).update(state=StepState.SKIPPED, reason=STOPPED)
        later = [m for m in all_members if m.group.priority > step.group.priority]
        DrillWorkloadResult.objects.bulk_create([_result(run, m, ResultState.SKIPPED, STOPPED) for m in later])
    return None


def _group_results(
    run: DrillRun,
    step: DrillStep,
    members: list[ProtectedWorkload],
    migrations: list[Migration],
    cancelled_run: bool,
) -> list[DrillWorkloadResult]:
    """A result per member whose migration the group started: moved, stayed (cancelled), or failed and why."""
    by_workload = {m.workload_id: m for m in migrations}
    results = []
    for member in members:
        m = by_workload.get(member.workload_id)
        if m is None:
            continue  # refused or not attempted: its result was written when the group started
        if m.state == MigrationState.COMPLETED:
            total = float(m.total_time_s or 0.0)
            results.append(
                _result(
                    run,
                    member,
                    ResultState.RECOVERED,
                    f"Moved live by migration #{m.pk}.",
                    transfer_s=total,
                    up_at_s=step.sim_start_s + total,
                    recovery_time_s=total,
                    recovered_on=m.destination_host.name,
                    test_ip=member.workload.ip_address,
                )
            )
        elif m.state == MigrationState.CANCELLED and cancelled_run:
            why = f"Cancelled with the planned migration before its switchover; stays on {m.source_host.name}."
            results.append(_result(run, member, ResultState.SKIPPED, why))
        elif m.state in FINAL_STATES:
            why = m.outcome_reason or f"Migration #{m.pk} ended {m.get_state_display().lower()}."
            results.append(_result(run, member, ResultState.FAILED, why))
        else:
            why = f"Migration #{m.pk} was still {m.get_state_display().lower()} when the wait ran out."
            results.append(_result(run, member, ResultState.FAILED, why))
    return results


def _group_verdict(run: DrillRun, every: list[DrillWorkloadResult], cancelled_run: bool) -> tuple[str, str, float]:
    """The group step's state, reason and simulated duration from all its workloads' results."""
    failed = [r for r in every if r.state == ResultState.FAILED]
    moved = [r for r in every if r.state == ResultState.RECOVERED]
    duration = max((r.recovery_time_s or 0.0 for r in moved), default=0.0)
    site = run.plan.recovery_site.name
    if not every:
        state, reason = StepState.SKIPPED, "No workloads in this group."
    elif failed:
        state = StepState.FAILED
        reason = f"{len(failed)} of {len(every)} workloads did not move: " + " ".join(
            f"{r.workload_name}: {r.reason}" for r in failed
        )
    elif cancelled_run and len(moved) < len(every):
        state = StepState.SKIPPED
        reason = (
            f"Cancelled: {len(moved)} of {len(every)} workloads had already switched over to {site}; "
            f"{len(every) - len(moved)} stay on {run.plan.protected_site.name}."
        )
    else:
        state = StepState.DONE
        reason = f"{len(moved)} workloads moved live to {site} in {format_duration(duration)}."
    return state, reason, duration


def _verify(run: DrillRun, step: DrillStep, sim_now: float) -> None:
    """Every moved workload runs on the recovery site with the IP it had before the move."""
    plan = run.plan
    moved = list(run.results.filter(state=ResultState.RECOVERED).values_list("workload_id", flat=True))
    if not moved:
        state, reason = StepState.SKIPPED, "Nothing was moved: nothing to verify."
    else:
        rows = Workload.objects.filter(pk__in=moved).select_related("host__cluster")
        wrong = [
            w.name
            for w in rows
            if w.host.cluster.site_id != plan.recovery_site_id
            or w.ip_address != run.ips_before.get(str(w.pk), w.ip_address)
        ]
        if wrong:
            state, reason = StepState.FAILED, f"Not on {plan.recovery_site.name} with their IP: {', '.join(wrong)}."
        else:
            state = StepState.DONE
            reason = f"{len(moved)} workloads run on {plan.recovery_site.name} with their IPs unchanged."
    now = timezone.now()
    DrillStep.objects.filter(pk=step.pk, state=StepState.PENDING).update(
        state=state, reason=reason, started_at=now, finished_at=now, sim_start_s=sim_now, wall_duration_s=0.0
    )


def _finish_run(run: DrillRun, steps: list[DrillStep]) -> dict | None:
    """Every step has ended: the fields of the run's terminal transition (a cancelled run keeps its state and
    ended already: None)."""
    failed_step = next((s for s in steps if s.state == StepState.FAILED), None)
    up_at = run.results.filter(state=ResultState.RECOVERED).values_list("up_at_s", flat=True)
    rto = max(up_at, default=None)
    met = failed_step is None and rto is not None and rto <= run.target_rto_s
    if failed_step is not None:
        reason = f"{failed_step.name} failed: {failed_step.reason}"
    elif rto is not None and rto > run.target_rto_s:
        reason = f"Measured RTO {format_duration(rto)} is over the target of {format_duration(run.target_rto_s)}."
    else:
        reason = ""
    if run.state == DrillState.CANCELLED:
        DrillRun.objects.filter(pk=run.pk, state=DrillState.CANCELLED).update(measured_rto_s=rto)
        return None
    return {
        "state": DrillState.FAILED if failed_step else DrillState.COMPLETED,
        "verdict": Verdict.MET if met else Verdict.MISSED,
        "measured_rto_s": rto,
        "reason": reason,
    }


# -- cancelling ----------------------------------------------------------------------------------------------------


def cancel_planned_migrations(*, run: DrillRun, by=None) -> list[int]:
    """Cancel the run's migrations that have not switched over yet (their workloads stay on their source);
    the ids cancelled. Those already switching over finish their move."""
    cancelled = []
    for m in Migration.objects.filter(
        pk__in=DrillStep.migrations.through.objects.filter(drillstep__run=run).values("migration_id"),
        state__in=CANCELLABLE_STATES,
    ).select_related("workload"):
        try:
            migration_cancel(migration=m, by=by)
        except MigrationRefused:
            continue  # it reached its switchover meanwhile: it completes
        cancelled.append(m.pk)
    return cancelled
