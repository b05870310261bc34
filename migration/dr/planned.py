"""A planned migration of a recovery plan: the real move of its workloads to the recovery site.

Unlike a test drill, nothing is simulated here and production really changes: each group, in priority
order, is moved with the live-migration service (`migration.services.migration_start`, pre-checks and
all), the runner waits for the group's migrations to end, and the run stops at the first error of the
protected site — a workload the pre-checks refuse (for example one on a segment that is not stretched to
the recovery site), or a migration that fails — skipping every later step with "stopped after the first
error". The verify step checks that every moved workload now runs on the recovery site with the IP it
had; it does not compare production before and after (a planned migration is meant to change it).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.utils import timezone

from migration.choices import FINAL_STATES, MigrationState
from migration.dr.choices import DrillState, ResultState, StepKind, StepState, Verdict
from migration.dr.models import DrillRun, DrillStep, DrillWorkloadResult, ProtectedWorkload
from migration.models import Migration
from migration.services import MigrationRefused, migration_start

STOPPED = "Not run: stopped after the first error."
POLL_S = 0.2
#: Wall-clock allowance per group on top of its predicted time scaled by the simulation speed.
WAIT_BASE_S = 60.0
WAIT_FACTOR = 3.0


def _wait_cap_s(migrations: list[Migration]) -> float:
    """How long to wait (wall seconds) for a group's migrations: their predicted time, run one after the
    other in the worst case, scaled by the simulation speed, times a margin, plus a fixed allowance."""
    predicted = sum(float(m.prediction.get("total_time_s") or 0) for m in migrations)
    return WAIT_BASE_S + WAIT_FACTOR * predicted / max(float(settings.SIMULATION_SPEED), 1e-9)


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


def _migrate_group(
    run: DrillRun, members: list[ProtectedWorkload], sim_start_s: float
) -> tuple[str, str, float, list[DrillWorkloadResult]]:
    """Move one group; returns (step state, reason, simulated duration, results)."""
    plan = run.plan
    override = f"Planned migration of plan {plan.name} (drill run #{run.pk})"
    started: list[tuple[ProtectedWorkload, Migration]] = []
    for member in members:
        try:
            migration = migration_start(
                workload=member.workload,
                destination_site=plan.recovery_site,
                requested_by=run.started_by,
                override_reason=override,
                reason=override,
            )
        except MigrationRefused as exc:
            message = " ".join(exc.errors)
            # Those started before the refusal are still moving: wait for them so the record is true.
            done = _results_for(run, started, _wait(started), sim_start_s)
            rest = members[members.index(member) + 1 :]
            results = [
                *done,
                _result(run, member, ResultState.FAILED, message),
                *(_result(run, m, ResultState.SKIPPED, STOPPED) for m in rest),
            ]
            duration = max((r.recovery_time_s or 0.0 for r in done), default=0.0)
            return StepState.FAILED, f"{member.workload.name}: {message}", duration, results
        started.append((member, migration))
    finished = _wait(started)
    results = _results_for(run, started, finished, sim_start_s)
    duration = max((r.recovery_time_s or 0.0 for r in results), default=0.0)
    failed = [r for r in results if r.state != ResultState.RECOVERED]
    if failed:
        reason = f"{len(failed)} of {len(results)} migrations did not complete: " + " ".join(
            f"{r.workload_name}: {r.reason}" for r in failed
        )
        return StepState.FAILED, reason, duration, results
    return (
        StepState.DONE,
        f"{len(results)} workloads moved live to {plan.recovery_site.name} in {duration:.0f} s.",
        duration,
        results,
    )


def _wait(started: list[tuple[ProtectedWorkload, Migration]]) -> dict[int, Migration]:
    """Poll until every migration has reached a final state, or the wall-clock cap passes."""
    ids = [m.pk for _, m in started]
    if not ids:
        return {}
    deadline = time.monotonic() + _wait_cap_s([m for _, m in started])
    while True:
        rows = {m.pk: m for m in Migration.objects.filter(pk__in=ids).select_related("destination_host")}
        if all(m.state in FINAL_STATES for m in rows.values()) or time.monotonic() > deadline:
            return rows
        time.sleep(POLL_S)


def _results_for(
    run: DrillRun, started: list[tuple[ProtectedWorkload, Migration]], rows: dict[int, Migration], sim_start_s: float
) -> list[DrillWorkloadResult]:
    results = []
    for member, migration in started:
        m = rows[migration.pk]
        if m.state == MigrationState.COMPLETED:
            total = float(m.total_time_s or 0.0)
            results.append(
                _result(
                    run,
                    member,
                    ResultState.RECOVERED,
                    f"Moved live by migration #{m.pk}.",
                    transfer_s=total,
                    up_at_s=sim_start_s + total,
                    recovery_time_s=total,
                    recovered_on=m.destination_host.name,
                    test_ip=member.workload.ip_address,
                )
            )
        elif m.state in FINAL_STATES:
            why = m.outcome_reason or f"Migration #{m.pk} ended {m.get_state_display().lower()}."
            results.append(_result(run, member, ResultState.FAILED, why))
        else:
            why = f"Migration #{m.pk} was still {m.get_state_display().lower()} when the wait ran out."
            results.append(_result(run, member, ResultState.FAILED, why))
    return results


def play_planned_migration(run: DrillRun, publish, observer=None) -> None:
    """Run a claimed planned migration to its end (see the module docstring)."""
    plan = run.plan
    groups = list(plan.groups.order_by("priority"))
    members = list(
        ProtectedWorkload.objects.filter(plan=plan)
        .select_related("workload", "group")
        .order_by("group__priority", "workload__name")
    )
    by_group: dict[int, list[ProtectedWorkload]] = {g.pk: [] for g in groups}
    for member in members:
        by_group[member.group_id].append(member)
    ips = {m.workload_id: m.workload.ip_address for m in members}

    specs = [(StepKind.MIGRATE, f"Migrate group {g.priority}: {g.name}", g) for g in groups]
    specs.append((StepKind.VERIFY, "Verify", None))
    steps = DrillStep.objects.bulk_create(
        [
            DrillStep(run=run, order=i, kind=kind, name=name, group=group)
            for i, (kind, name, group) in enumerate(specs, start=1)
        ]
    )
    publish(run.pk)
    sim_now = 0.0
    moved: list[DrillWorkloadResult] = []
    failed_step: DrillStep | None = None
    for step, (kind, _name, group) in zip(steps, specs, strict=True):
        if not DrillRun.objects.filter(pk=run.pk, state=DrillState.RUNNING).exists():
            DrillStep.objects.filter(run=run, state__in=[StepState.PENDING, StepState.RUNNING]).update(
                state=StepState.SKIPPED, reason="Not run: the planned migration was cancelled."
            )
            publish(run.pk)
            return
        if failed_step is not None:
            step.state, step.reason = StepState.SKIPPED, STOPPED
            step.save(update_fields=["state", "reason"])
            continue
        wall_start = time.monotonic()
        step.state, step.started_at, step.sim_start_s = StepState.RUNNING, timezone.now(), sim_now
        step.save(update_fields=["state", "started_at", "sim_start_s"])
        publish(run.pk)
        if kind == StepKind.MIGRATE:
            group_members = by_group[group.pk]
            if not group_members:
                state, reason, duration, results = StepState.SKIPPED, "No workloads in this group.", 0.0, []
            else:
                state, reason, duration, results = _migrate_group(run, group_members, sim_now)
            DrillWorkloadResult.objects.bulk_create(results)
            moved += [r for r in results if r.state == ResultState.RECOVERED]
        else:
            state, reason, duration = _verify(plan, moved, ips)
        step.state, step.reason, step.sim_duration_s = state, reason, duration
        step.finished_at, step.wall_duration_s = timezone.now(), time.monotonic() - wall_start
        step.save(update_fields=["state", "reason", "sim_duration_s", "finished_at", "wall_duration_s"])
        sim_now += duration
        if state == StepState.FAILED:
            failed_step = step
        publish(run.pk)
        if observer:
            observer(step)
    if failed_step is not None:
        DrillWorkloadResult.objects.bulk_create(
            [
                _result(run, m, ResultState.SKIPPED, STOPPED)
                for m in members
                if m.group.priority > failed_step.group.priority
            ]
            if failed_step.group is not None
            else []
        )

    rto = max((r.up_at_s for r in moved), default=None)
    met = failed_step is None and rto is not None and rto <= run.target_rto_s
    if failed_step is not None:
        reason = f"{failed_step.name} failed: {failed_step.reason}"
    elif rto is not None and rto > run.target_rto_s:
        reason = f"Measured RTO {rto:.0f} s is over the target of {run.target_rto_s} s."
    else:
        reason = ""
    DrillRun.objects.filter(pk=run.pk, state=DrillState.RUNNING).update(
        state=DrillState.FAILED if failed_step else DrillState.COMPLETED,
        verdict=Verdict.MET if met else Verdict.MISSED,
        measured_rto_s=rto,
        reason=reason,
        finished_at=timezone.now(),
    )
    publish(run.pk)


def _verify(plan, moved: list[DrillWorkloadResult], ips: dict[int, str]) -> tuple[str, str, float]:
    """Every moved workload runs on the recovery site with the IP it had before the move."""
    from inventory.models import Workload

    if not moved:
        return StepState.SKIPPED, "Nothing was moved: nothing to verify.", 0.0
    rows = Workload.objects.filter(pk__in=[r.workload_id for r in moved]).select_related("host__cluster")
    wrong = [
        w.name
        for w in rows
        if w.host.cluster.site_id != plan.recovery_site_id or w.ip_address != ips.get(w.pk, w.ip_address)
    ]
    if wrong:
        return StepState.FAILED, f"Not on {plan.recovery_site.name} with their IP: {', '.join(wrong)}.", 0.0
    return (
        StepState.DONE,
        f"{len(moved)} workloads run on {plan.recovery_site.name} with their IPs unchanged.",
        0.0,
    )
