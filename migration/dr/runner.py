"""Running a drill or planned migration, step by step: claim, lay out, step, end, resume.

`drill_begin` claims a queued run (queued → running; a second delivery finds nothing to claim) and lays its steps
out (a test drill's timeline is computed once with `migration.dr.drills` and kept on the row); `drill_step` then
advances it by one short step holding a lease (see migration/dr/leases.py), whether a Celery task runs it
(`drill_step` tasks re-enqueue themselves with a countdown: no worker sleeps through a drill) or `drill_execute`
runs them to the end in this process (`manage.py run_drill`). Every step is committed before it is published;
`drill_end` is the one terminal transition; `drills_watchdog` resumes a run that lost its worker.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from hybridcloud.core import events
from hybridcloud.core.audit import audit_record
from hybridcloud.core.units import format_duration
from migration.dr import drills, leases
from migration.dr.choices import DrillKind, DrillState, StepKind, StepState, Verdict
from migration.dr.inputs import drill_inputs, production_fingerprint
from migration.dr.models import DrillRun, DrillStep, DrillWorkloadResult
from migration.dr.planned import planned_migration_begin, planned_migration_step
from migration.dr.selectors import drill_state

logger = logging.getLogger(__name__)


#: A drill is short: no step sleeps longer than this in wall time, whatever the simulation speed.
MAX_STEP_WALL_S = 3.0
#: How a verify step that found production changed begins its reason (the run's reason says so too).
PRODUCTION_CHANGED = "PRODUCTION CHANGED"


def drill_group_name(run_id: int) -> str:
    return f"drill.{run_id}"


StepObserver = Callable[[DrillStep], None]


@dataclass
class StepResult:
    """What one step did: the token the next step claims (None: the run has nothing left to do, or this step was
    not ours), when it is due (wall seconds), and the drill steps that finished in it."""

    next_token: int | None
    countdown: float = 0.0
    finished: list[DrillStep] = field(default_factory=list)


def _pause_s(sim_seconds: float, pace: bool) -> float:
    """Wall time a step of `sim_seconds` simulated seconds is shown running (at most MAX_STEP_WALL_S)."""
    if not pace or sim_seconds <= 0:
        return 0.0
    return min(sim_seconds / max(settings.SIMULATION_SPEED, 1e-9), MAX_STEP_WALL_S)


def _result_row(run: DrillRun, r: drills.WorkloadOutcome) -> DrillWorkloadResult:
    return DrillWorkloadResult(
        run=run,
        workload_id=r.workload_id,
        workload_name=r.name,
        group_id=r.group_id,
        group_name=r.group_name,
        priority=r.priority,
        state=r.state,
        reason=r.reason,
        rpo_s=r.rpo_s,
        replication_lag_s=r.replication_lag_s,
        rpo_met=r.rpo_met,
        data_loss_window_s=r.data_loss_window_s,
        pending_bytes=r.pending_bytes,
        transfer_s=r.transfer_s,
        boot_s=r.boot_s,
        up_at_s=r.up_at_s,
        recovery_time_s=r.recovery_time_s,
        recovered_on=r.recovered_on,
        test_ip=r.test_ip,
    )


def drill_end(*, run_id: int, token: int | None, from_states: tuple[str, ...], announce: bool = True, **fields) -> bool:
    """The one terminal transition of a run: a conditional update (from `from_states`, and on the lease `token`
    when given), its audit entry ("drill.end") in the same transaction, the push after commit (unless the caller,
    a step, pushes anyway: `announce=False`). False when the run had already left those states (or the token
    moved on): nothing is written or announced twice."""
    rows = DrillRun.objects.filter(pk=run_id, state__in=from_states)
    if token is not None:
        rows = rows.filter(step_token=token)
    with transaction.atomic():
        if not rows.update(finished_at=timezone.now(), lease_expires_at=None, **fields):
            return False
        run = DrillRun.objects.select_related("plan").get(pk=run_id)
        audit_record(
            action="drill.end",
            target=run,
            after={"drill": run.pk, "state": run.state, "verdict": run.verdict, "measured_rto_s": run.measured_rto_s},
            message=f"Drill #{run.pk} of {run.plan.name} {run.get_state_display().lower()}. {run.reason}".strip(),
        )
        if announce:
            transaction.on_commit(lambda: publish_drill(run_id), robust=True)
    return True


def drill_begin(
    *, run_id: int, conditions: Callable[[drills.DrillInputs], drills.DrillInputs] | None = None
) -> int | None:
    """Claim a queued run (queued → running, with its lease) and lay its steps out; the token of its first step,
    or None when there was nothing to claim (a second delivery, a cancelled run). The first step is the caller's
    to run or enqueue. For a test drill the timeline is computed here once and kept on the row, so that any
    worker can play any later step."""
    with transaction.atomic():
        claimed = DrillRun.objects.filter(pk=run_id, state=DrillState.QUEUED).update(
            state=DrillState.RUNNING,
            started_at=timezone.now(),
            lease_holder=leases.process_name(),
            lease_expires_at=timezone.now() + timedelta(seconds=leases.LEASE_S),
            resumes=0,
        )
        if not claimed:
            return None
        run = DrillRun.objects.select_related("plan__protected_site", "plan__recovery_site").get(pk=run_id)
        if run.kind == DrillKind.PLANNED_MIGRATION:
            planned_migration_begin(run)
        else:
            _lay_out_test_drill(run, conditions)
        transaction.on_commit(lambda: publish_drill(run_id), robust=True)
    return run.step_token


def _lay_out_test_drill(run: DrillRun, conditions) -> None:
    plan = run.plan
    site_ids = [plan.protected_site_id, plan.recovery_site_id]
    inputs = drill_inputs(plan=plan, run=run)
    outcome = drills.compute_drill(conditions(inputs) if conditions else inputs)
    DrillStep.objects.bulk_create(
        [
            DrillStep(
                run=run,
                order=i,
                kind=s.kind,
                name=s.name,
                group_id=s.group_id,
                sim_start_s=s.sim_start_s,
                sim_duration_s=s.sim_duration_s,
            )
            for i, s in enumerate(outcome.steps, start=1)
        ]
    )
    timeline = {
        "fingerprint": production_fingerprint(site_ids),
        "sites": site_ids,
        "steps": [
            {"state": s.state, "reason": s.reason, "kind": s.kind, "group_id": s.group_id} for s in outcome.steps
        ],
        "results": [asdict(r) for r in outcome.results],
        "measured_rto_s": outcome.measured_rto_s,
        "all_recovered": outcome.all_recovered,
    }
    DrillRun.objects.filter(pk=run.pk).update(timeline=timeline)


def drill_step(*, run_id: int, token: int, pace: bool = True) -> StepResult:
    """One step of a running drill or planned migration, if `token` is still its current one (see
    migration/dr/leases.py); the next step is the caller's to run or enqueue. A step whose token was taken does
    nothing; an internal error fails the run with the error as its reason."""
    try:
        with transaction.atomic():
            if not leases.lease_claim(run_id=run_id, token=token, states=(DrillState.RUNNING, DrillState.CANCELLED)):
                return StepResult(next_token=None)
            run = DrillRun.objects.select_related("plan__protected_site", "plan__recovery_site", "started_by").get(
                pk=run_id
            )
            if run.kind == DrillKind.PLANNED_MIGRATION:
                countdown = planned_migration_step(run)
                if isinstance(countdown, dict):
                    drill_end(
                        run_id=run_id, token=token + 1, from_states=(DrillState.RUNNING,), announce=False, **countdown
                    )
                    countdown = None
                result = StepResult(next_token=None if countdown is None else token + 1, countdown=countdown or 0.0)
            else:
                result = _test_drill_step(run, token + 1, pace)
            if result.next_token is not None:
                leases.lease_hold(run_id=run_id, token=token + 1, seconds=result.countdown)
            transaction.on_commit(lambda: publish_drill(run_id), robust=True)
        return result
    except (OperationalError, InterfaceError):
        # The database went away mid-step: the transaction rolled back, claim and all. The task fails; the lease
        # runs out and the watchdog resumes the run from its last committed step.
        raise
    except Exception as exc:
        _crashed(run_id, exc)
        return StepResult(next_token=None)


def _test_drill_step(run: DrillRun, token: int, pace: bool) -> StepResult:
    """Finish the running step (its planned state; verify also checks that production is unchanged), then start
    the next one, due after its simulated time scaled; or, when none is left, end the drill."""
    timeline = run.timeline
    steps = list(run.steps.order_by("order"))
    now = timezone.now()
    if run.state == DrillState.CANCELLED:
        DrillStep.objects.filter(run=run, state__in=[StepState.PENDING, StepState.RUNNING]).update(
            state=StepState.SKIPPED, reason="Not run: the drill was cancelled."
        )
        return StepResult(next_token=None)
    result = StepResult(next_token=token)
    current = next((s for s in steps if s.state == StepState.RUNNING), None)
    if current is not None:
        planned = timeline["steps"][current.order - 1]
        state, reason = planned["state"], planned["reason"]
        if planned["kind"] == StepKind.VERIFY:
            # The drill proves it left production alone: the same rows, the same values.
            if production_fingerprint(timeline["sites"]) != timeline["fingerprint"]:
                state = StepState.FAILED
                reason = (
                    f"{PRODUCTION_CHANGED} during the drill: workloads, hosts or segments of "
                    f"{run.plan.protected_site} or {run.plan.recovery_site} differ from before it started. "
                    + (planned["reason"] if planned["state"] == StepState.DONE else "")
                ).strip()
            elif planned["state"] == StepState.DONE:
                reason = f"{planned['reason']} Production unchanged."
        DrillStep.objects.filter(pk=current.pk, state=StepState.RUNNING).update(
            state=state,
            reason=reason,
            finished_at=now,
            wall_duration_s=(now - current.started_at).total_seconds() if current.started_at else 0.0,
        )
        if planned["kind"] == StepKind.BRING_UP:
            DrillWorkloadResult.objects.bulk_create(
                [
                    _result_row(run, drills.WorkloadOutcome(**r))
                    for r in timeline["results"]
                    if r["group_id"] == planned["group_id"]
                ]
            )
        current.refresh_from_db()
        result.finished.append(current)
    following = next((s for s in steps if s.state == StepState.PENDING), None)
    if following is None:
        _end_test_drill(run, token)
        result.next_token = None
        return result
    DrillStep.objects.filter(pk=following.pk, state=StepState.PENDING).update(state=StepState.RUNNING, started_at=now)
    result.countdown = _pause_s(following.sim_duration_s, pace)
    return result


def _end_test_drill(run: DrillRun, token: int) -> None:
    timeline = run.timeline
    failed_steps = list(run.steps.filter(state=StepState.FAILED).order_by("order"))
    rto = timeline["measured_rto_s"]
    met = not failed_steps and timeline["all_recovered"] and rto is not None and rto <= run.target_rto_s
    if any(s.reason.startswith(PRODUCTION_CHANGED) for s in failed_steps):
        reason = "Production changed during a test drill."
    elif failed_steps:
        reason = "; ".join(f"{s.name} failed" for s in failed_steps) + "."
    elif rto is not None and rto > run.target_rto_s:
        reason = f"Measured RTO {format_duration(rto)} is over the target of {format_duration(run.target_rto_s)}."
    else:
        reason = ""
    drill_end(
        run_id=run.pk,
        token=token,
        from_states=(DrillState.RUNNING,),
        announce=False,
        state=DrillState.FAILED if failed_steps else DrillState.COMPLETED,
        verdict=Verdict.MET if met else Verdict.MISSED,
        measured_rto_s=rto,
        reason=reason,
    )


def drill_execute(
    *,
    run_id: int,
    observer: StepObserver | None = None,
    pace: bool = True,
    conditions: Callable[[drills.DrillInputs], drills.DrillInputs] | None = None,
) -> DrillRun | None:
    """Claim a queued drill and, for a test drill, run its steps to the end in this process (`manage.py
    run_drill`, the demo seed, tests): the same `drill_step` the tasks run, with sleeps instead of countdowns.
    None when there was nothing to claim (a task delivered twice, a command and a task racing for one run).

    A planned migration is only laid out here: its first step is enqueued, tasks carry it from there. `pace`
    sleeps each step's simulated time scaled by settings.SIMULATION_SPEED (at most MAX_STEP_WALL_S per step);
    `observer` sees each finished step. `conditions`, for a test drill, maps the inputs read from the database to
    those of the night it stands for (the demo's past drills); the drill code is the same.
    """
    try:
        token = drill_begin(run_id=run_id, conditions=conditions)
    except Exception as exc:
        _crashed(run_id, exc)
        return DrillRun.objects.get(pk=run_id)
    if token is None:
        return None
    run = DrillRun.objects.get(pk=run_id)
    if run.kind == DrillKind.PLANNED_MIGRATION:
        leases.step_enqueue(run_id=run_id, token=token)
        return run
    while token is not None:
        step = drill_step(run_id=run_id, token=token, pace=pace)
        for finished in step.finished:
            if observer:
                observer(finished)
        token = step.next_token
        if token is not None and step.countdown > 0:
            time.sleep(step.countdown)
    run.refresh_from_db()
    return run


def _crashed(run_id: int, exc: Exception) -> None:
    logger.exception("Drill %s crashed", run_id)
    with transaction.atomic():
        if drill_end(
            run_id=run_id,
            token=None,
            from_states=(DrillState.QUEUED, DrillState.RUNNING),
            state=DrillState.FAILED,
            verdict=Verdict.MISSED,
            reason=f"The drill stopped on an internal error: {exc}",
        ):
            DrillStep.objects.filter(run_id=run_id, state__in=[StepState.PENDING, StepState.RUNNING]).update(
                state=StepState.SKIPPED, reason="Not run: the drill stopped on an internal error."
            )


def planned_migration_advance(*, run_id: int, token: int) -> float | None:
    """One step of a planned migration (see migration.dr.planned): the countdown of the next one, or None.

    A step whose token was already taken (a duplicate delivery) does nothing; an internal error fails the run
    (its migrations already moving carry on: they are the migration driver's)."""
    step = drill_step(run_id=run_id, token=token)
    return None if step.next_token is None else step.countdown


def drills_watchdog(*, force: bool = False) -> list[int]:
    """Resume every run that lost its worker (see migration/dr/leases.py), or fail it after `MAX_RESUMES`
    takeovers in a row; `force` takes over every running run (a worker start: the old holder may be dead).
    The ids of the runs resumed or failed."""
    running, queued = leases.expired_runs(force=force)
    touched: list[int] = []
    for run in [*running, *queued]:
        if run.resumes >= leases.MAX_RESUMES:
            holder = f" (last held by {run.lease_holder})" if run.lease_holder else ""
            how = "never claimed" if run.state == DrillState.QUEUED else "resumed each time without a step ending"
            with transaction.atomic():
                DrillStep.objects.filter(run=run, state__in=[StepState.PENDING, StepState.RUNNING]).update(
                    state=StepState.SKIPPED, reason="Not run: the drill lost its worker."
                )
                ended = drill_end(
                    run_id=run.pk,
                    token=run.step_token,
                    from_states=(run.state,),
                    state=DrillState.FAILED,
                    verdict=Verdict.MISSED,
                    reason=f"The drill lost its worker {run.resumes} times in a row{holder} and was "
                    f"{how}"
                    "; failed instead of retried again.",
                )
                if not ended:
                    transaction.set_rollback(True)
            if ended:
                logger.warning("Drill %s failed by the watchdog after %s takeovers", run.pk, run.resumes)
                touched.append(run.pk)
            continue
        with transaction.atomic():
            token = leases.lease_take_over(run=run)
            if token is None:
                continue
            if run.state == DrillState.QUEUED:
                leases.run_enqueue(run_id=run.pk)
            else:
                leases.step_enqueue(run_id=run.pk, token=token)
        logger.warning("Drill %s resumed by the watchdog (lease of %s expired)", run.pk, run.lease_holder or "?")
        touched.append(run.pk)
    return touched


def publish_drill(run_id: int) -> None:
    """Push a drill's state to `drill.<id>`: bump `seq`, then send the full state after commit (through the one
    publisher, `hybridcloud.core.events`: a failing channel layer is logged there, not raised)."""
    DrillRun.objects.filter(pk=run_id).update(seq=F("seq") + 1)
    message = drill_state(DrillRun.objects.select_related("plan").get(pk=run_id))
    message["type"] = "drill"
    events.publish(drill_group_name(run_id), "drill.update", message)
