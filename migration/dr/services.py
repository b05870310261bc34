"""Writes of the DR app: start, run and cancel drills; set a plan's schedule.

`drill_start` creates a queued DrillRun (at most one active per plan: the database says so) and, after
commit, enqueues `run_drill`. `drill_execute` is the one code path that runs a drill, whether from the
Celery task, the schedule or `manage.py run_drill`: it claims the run with a conditional update
(queued → running; a second delivery finds nothing to claim), computes the timeline with
`migration.dr.drills`, then plays it step by step in scaled time, persisting each step before
publishing it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from hybridcloud.audit import audit_record
from hybridcloud.roles import is_operator
from inventory.choices import HostState, PowerState
from inventory.models import CloudLink, Host, NetworkSegment, Workload
from migration.dr import drills
from migration.dr.choices import DrillKind, DrillState, DrillTrigger, StepKind, StepState, Verdict
from migration.dr.models import DrillRun, DrillStep, DrillWorkloadResult, ProtectedWorkload, RecoveryPlan

logger = logging.getLogger(__name__)

SCHEDULED_DRILL_TASK = "migration.dr.tasks.scheduled_drill"
#: A drill is short: no step sleeps longer than this in wall time, whatever the simulation speed.
MAX_STEP_WALL_S = 3.0
SLEEP_SLICE_S = 0.25


class DrillNotStarted(Exception):
    """The drill could not start (already running, plan disabled, ...); the message says why."""


class PlannedMigrationRefused(Exception):
    """A planned migration was not started: pre-checks found errors that would stop it; `errors` lists them."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(" ".join(errors))
        self.errors = list(errors)


def drill_group_name(run_id: int) -> str:
    return f"drill.{run_id}"


# -- starting ------------------------------------------------------------------------------------------------------


def drill_start(
    *,
    plan: RecoveryPlan,
    kind: str = DrillKind.TEST,
    trigger: str = DrillTrigger.MANUAL,
    started_by=None,
    enqueue: bool = True,
) -> DrillRun:
    """Create a queued drill of `plan`; raise DrillNotStarted when one is already queued or running.

    With `enqueue`, `run_drill` is sent to Celery once the row is committed; without, the caller runs
    `drill_execute(run_id=...)` itself (the management command and the scheduled task do).
    """
    if kind not in DrillKind.values:
        raise DrillNotStarted(f"Unknown drill kind {kind!r}.")
    planned = kind == DrillKind.PLANNED_MIGRATION
    if planned and (started_by is None or not is_operator(started_by)):
        # A planned migration really moves production: an operator starts it, never the schedule.
        raise DrillNotStarted("Only an operator can start a planned migration.")
    run = DrillRun(
        plan=plan,
        kind=kind,
        trigger=trigger,
        started_by=started_by if started_by is not None and started_by.is_authenticated else None,
        state=DrillState.QUEUED,
        target_rto_s=plan.target_rto_s,
    )
    try:
        with transaction.atomic():
            run.save()
    except IntegrityError:
        # The partial unique constraint: another drill of this plan is queued or running.
        active = plan.drills.filter(state__in=[DrillState.QUEUED, DrillState.RUNNING]).first()
        detail = f" (drill #{active.pk}, {active.get_state_display().lower()})" if active else ""
        raise DrillNotStarted(f"A drill of {plan.name} is already running{detail}.") from None
    if not planned:  # a planned migration moves the real workloads: no isolated network
        DrillRun.objects.filter(pk=run.pk).update(test_network=f"drill-{run.pk}-bubble")
        run.test_network = f"drill-{run.pk}-bubble"
    audit_record(
        action="drill.run",
        target=run,
        actor=run.started_by,
        after={"plan": plan.pk, "plan_name": plan.name, "kind": kind, "trigger": trigger, "drill": run.pk},
        via="schedule" if trigger == DrillTrigger.SCHEDULE else None,
        message=f"{'Planned migration' if planned else 'Test drill'} of {plan.name} ({trigger}).",
    )
    if enqueue:
        from migration.dr.tasks import run_drill

        run_id = run.pk
        transaction.on_commit(lambda: run_drill.delay(run_id))
    return run


def planned_migration_start(*, plan: RecoveryPlan, started_by) -> DrillRun:
    """Start the real, live move of the plan's workloads to its recovery site, group by group.

    Refused (PlannedMigrationRefused, nothing moved) when pre-checks against placement on the recovery site
    find an error that would stop it part-way; DrillNotStarted when the caller is not an operator or a drill
    of the plan is already running.
    """
    from migration.dr.selectors import planned_migration_preview

    if started_by is None or not is_operator(started_by):
        raise DrillNotStarted("Only an operator can start a planned migration.")
    if plan.drills.filter(state__in=[DrillState.QUEUED, DrillState.RUNNING]).exists():
        return drill_start(plan=plan, kind=DrillKind.PLANNED_MIGRATION, started_by=started_by)  # says which one
    preview = planned_migration_preview(plan)
    if not preview.workload_count:
        raise PlannedMigrationRefused([f"{plan.name} protects no workload: there is nothing to move."])
    if preview.errors:
        raise PlannedMigrationRefused(preview.errors)
    return drill_start(plan=plan, kind=DrillKind.PLANNED_MIGRATION, started_by=started_by)


def drill_cancel(*, run: DrillRun, by=None) -> bool:
    """Cancel a queued or running drill; the runner stops at its next step. True when it was active.

    A planned migration also cancels its live migrations that have not switched over yet: those workloads stay
    on the protected site (the ones already switching over finish their move)."""
    with transaction.atomic():
        cancelled = DrillRun.objects.filter(pk=run.pk, state__in=[DrillState.QUEUED, DrillState.RUNNING]).update(
            state=DrillState.CANCELLED, finished_at=timezone.now(), reason="Cancelled."
        )
        if cancelled and run.kind == DrillKind.PLANNED_MIGRATION:
            from migration.dr.planned import cancel_planned_migrations

            stopped = cancel_planned_migrations(run=run, by=by)
            if stopped:
                DrillRun.objects.filter(pk=run.pk).update(
                    reason=f"Cancelled; {len(stopped)} live migration(s) stopped before their switchover, "
                    "their workloads stay on the protected site."
                )
    if cancelled:
        run.refresh_from_db()
        transaction.on_commit(lambda: publish_drill(run.pk))
    return bool(cancelled)


# -- inputs --------------------------------------------------------------------------------------------------------


def production_fingerprint(site_ids: list[int] | None = None) -> str:
    """A hash of the values of production rows (hosts, workloads, segments and where segments are present).

    With `site_ids`, only the rows of those sites. A test drill compares it before and after.
    """
    hosts = Host.objects.order_by("pk")
    workloads = Workload.objects.order_by("pk")
    segments = NetworkSegment.objects.order_by("pk")
    presence = NetworkSegment.sites.through.objects.order_by("pk")
    if site_ids is not None:
        hosts = hosts.filter(cluster__site__in=site_ids)
        workloads = workloads.filter(host__cluster__site__in=site_ids)
        segments = segments.filter(sites__in=site_ids).distinct()
        presence = presence.filter(site__in=site_ids)
    digest = hashlib.sha256()
    for queryset in (hosts, workloads, segments, presence):
        for row in queryset.values_list():
            digest.update(repr(row).encode())
        digest.update(b"|")
    return digest.hexdigest()


def _link_between(site_a_id: int, site_b_id: int) -> CloudLink | None:
    return CloudLink.objects.filter(
        Q(site_a_id=site_a_id, site_b_id=site_b_id) | Q(site_a_id=site_b_id, site_b_id=site_a_id)
    ).first()


def drill_inputs(*, plan: RecoveryPlan, run: DrillRun, now: datetime | None = None) -> drills.DrillInputs:
    """Read what a drill needs from the database into plain values (a constant number of queries)."""
    now = now or timezone.now()
    link = _link_between(plan.protected_site_id, plan.recovery_site_id)
    on = Q(workloads__power_state=PowerState.ON)
    hosts = (
        Host.objects.filter(cluster__site_id=plan.recovery_site_id, state=HostState.CONNECTED)
        .annotate(used_memory=Sum("workloads__memory_bytes", filter=on), used_vcpus=Sum("workloads__vcpus", filter=on))
        .order_by("name")
    )
    capacities = tuple(
        drills.HostCapacity(
            name=h.name,
            free_memory_bytes=h.memory_bytes - (h.used_memory or 0),
            free_vcpus=h.vcpu_capacity - (h.used_vcpus or 0),
            cores=h.cores,
        )
        for h in hosts
    )
    concurrency = sum(h.max_concurrent_migrations for h in hosts) or 1
    recovery_segments = set(
        NetworkSegment.sites.through.objects.filter(site_id=plan.recovery_site_id).values_list(
            "networksegment_id", flat=True
        )
    )
    members = (
        ProtectedWorkload.objects.filter(plan=plan)
        .select_related("workload__segment", "recovery_segment", "group")
        .order_by("group__priority", "workload__name")
    )
    by_group: dict[int, list[drills.WorkloadSpec]] = {g.pk: [] for g in plan.groups.all()}
    for member in members:
        w = member.workload
        if member.last_replicated_at:
            lag = max((now - member.last_replicated_at).total_seconds(), 0.0)
        else:
            lag = drills.modelled_lag_s(member.rpo_s, f"{run.pk}:{w.pk}")
        by_group.setdefault(member.group_id, []).append(
            drills.WorkloadSpec(
                workload_id=w.pk,
                name=w.name,
                memory_bytes=w.memory_bytes,
                vcpus=w.vcpus,
                working_set_bytes=w.working_set_bytes,
                dirty_rate_bps=w.dirty_rate_bps,
                rpo_s=member.rpo_s,
                replication_lag_s=lag,
                segment_name=w.segment.name,
                segment_on_recovery_site=w.segment_id in recovery_segments,
                ip_address=w.ip_address,
                recovery_ip=member.recovery_ip,
                recovery_segment_name=member.recovery_segment.name if member.recovery_segment else None,
            )
        )
    groups = tuple(
        drills.GroupSpec(group_id=g.pk, name=g.name, priority=g.priority, workloads=tuple(by_group.get(g.pk, [])))
        for g in plan.groups.order_by("priority")
    )
    return drills.DrillInputs(
        protected_site=plan.protected_site.name,
        recovery_site=plan.recovery_site.name,
        test_network=run.test_network or f"drill-{run.pk}-bubble",
        link=(
            drills.LinkInfo(
                bandwidth_bps=link.bandwidth_bps,
                rtt_s=link.rtt_s,
                compression_ratio=link.compression_ratio,
                loss=link.loss_percent / 100,
            )
            if link
            else None
        ),
        hosts=capacities,
        groups=groups,
        transfer_concurrency=concurrency,
    )


# -- running -------------------------------------------------------------------------------------------------------

StepObserver = Callable[[DrillStep], None]


def _still_running(run_id: int) -> bool:
    return DrillRun.objects.filter(pk=run_id, state=DrillState.RUNNING).exists()


def _pause(sim_seconds: float, pace: bool) -> None:
    if not pace or sim_seconds <= 0:
        return
    wall = min(sim_seconds / max(settings.SIMULATION_SPEED, 1e-9), MAX_STEP_WALL_S)
    deadline = time.monotonic() + wall
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, SLEEP_SLICE_S))


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


def _finish_step(step: DrillStep, state: str, reason: str, wall_start: float) -> None:
    step.state, step.reason = state, reason
    step.finished_at = timezone.now()
    step.wall_duration_s = time.monotonic() - wall_start
    step.save(update_fields=["state", "reason", "finished_at", "wall_duration_s"])


def drill_execute(
    *,
    run_id: int,
    observer: StepObserver | None = None,
    pace: bool = True,
    conditions: Callable[[drills.DrillInputs], drills.DrillInputs] | None = None,
) -> DrillRun | None:
    """Run a queued drill to its end in this process; None when there was nothing to claim.

    The claim is a conditional update (queued → running), so a task delivered twice, or a command and a
    task racing for the same run, run it once. `pace` sleeps each step's simulated time scaled by
    settings.SIMULATION_SPEED (at most MAX_STEP_WALL_S per step); `observer` sees each finished step.
    `conditions`, for a test drill, maps the inputs read from the database to those of the night it stands for
    (the demo's past drills: other traffic on the link, replication running behind); the drill code is the same.
    """
    claimed = DrillRun.objects.filter(pk=run_id, state=DrillState.QUEUED).update(
        state=DrillState.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return None
    run = DrillRun.objects.select_related("plan__protected_site", "plan__recovery_site").get(pk=run_id)
    try:
        if run.kind == DrillKind.PLANNED_MIGRATION:
            from migration.dr.planned import planned_migration_begin

            # Only lays the steps out: `planned_migration_step` tasks carry the run from here.
            planned_migration_begin(run, publish_drill)
        else:
            _play(run, observer, pace, conditions)
    except Exception as exc:
        _crashed(run_id, exc)
    run.refresh_from_db()
    return run


def _crashed(run_id: int, exc: Exception) -> None:
    logger.exception("Drill %s crashed", run_id)
    DrillRun.objects.filter(pk=run_id, state=DrillState.RUNNING).update(
        state=DrillState.FAILED,
        verdict=Verdict.MISSED,
        finished_at=timezone.now(),
        reason=f"The drill stopped on an internal error: {exc}",
    )
    DrillStep.objects.filter(run_id=run_id, state__in=[StepState.PENDING, StepState.RUNNING]).update(
        state=StepState.SKIPPED, reason="Not run: the drill stopped on an internal error."
    )
    publish_drill(run_id)


def planned_migration_advance(*, run_id: int, token: int) -> float | None:
    """One step of a planned migration (see migration.dr.planned): the countdown of the next one, or None.

    A step whose token was already taken (a duplicate delivery) does nothing; an internal error fails the run
    (its migrations already moving carry on: they are the migration driver's)."""
    from migration.dr.planned import planned_migration_step

    try:
        return planned_migration_step(run_id=run_id, token=token, publish=publish_drill)
    except Exception as exc:
        _crashed(run_id, exc)
        return None


def _play(run: DrillRun, observer: StepObserver | None, pace: bool, conditions=None) -> None:
    plan = run.plan
    site_ids = [plan.protected_site_id, plan.recovery_site_id]
    fingerprint_before = production_fingerprint(site_ids)
    inputs = drill_inputs(plan=plan, run=run)
    outcome = drills.compute_drill(conditions(inputs) if conditions else inputs)
    steps = DrillStep.objects.bulk_create(
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
    publish_drill(run.pk)
    results_by_group: dict[int | None, list[drills.WorkloadOutcome]] = {}
    for r in outcome.results:
        results_by_group.setdefault(r.group_id, []).append(r)

    production_changed = False
    for step, planned in zip(steps, outcome.steps, strict=True):
        if not _still_running(run.pk):  # cancelled meanwhile
            DrillStep.objects.filter(run=run, state__in=[StepState.PENDING, StepState.RUNNING]).update(
                state=StepState.SKIPPED, reason="Not run: the drill was cancelled."
            )
            publish_drill(run.pk)
            return
        wall_start = time.monotonic()
        step.state, step.started_at = StepState.RUNNING, timezone.now()
        step.save(update_fields=["state", "started_at"])
        publish_drill(run.pk)
        _pause(planned.sim_duration_s, pace)
        state, reason = planned.state, planned.reason
        if planned.kind == StepKind.VERIFY:
            # The drill proves it left production alone: the same rows, the same values.
            if production_fingerprint(site_ids) != fingerprint_before:
                production_changed = True
                state = StepState.FAILED
                reason = (
                    "PRODUCTION CHANGED during the drill: workloads, hosts or segments of "
                    f"{plan.protected_site} or {plan.recovery_site} differ from before it started. "
                    + (planned.reason if planned.state == StepState.DONE else "")
                ).strip()
            elif planned.state == StepState.DONE:
                reason = f"{planned.reason} Production unchanged."
        _finish_step(step, state, reason, wall_start)
        if planned.kind == StepKind.BRING_UP:
            DrillWorkloadResult.objects.bulk_create(
                [_result_row(run, r) for r in results_by_group.get(planned.group_id, [])]
            )
        publish_drill(run.pk)
        if observer:
            observer(step)

    failed_steps = [s for s in steps if s.state == StepState.FAILED]
    rto = outcome.measured_rto_s
    met = not failed_steps and outcome.all_recovered and rto is not None and rto <= run.target_rto_s
    if production_changed:
        reason = "Production changed during a test drill."
    elif failed_steps:
        reason = "; ".join(f"{s.name} failed" for s in failed_steps) + "."
    elif rto is not None and rto > run.target_rto_s:
        reason = f"Measured RTO {rto:.0f} s is over the target of {run.target_rto_s} s."
    else:
        reason = ""
    DrillRun.objects.filter(pk=run.pk, state=DrillState.RUNNING).update(
        state=DrillState.FAILED if failed_steps else DrillState.COMPLETED,
        verdict=Verdict.MET if met else Verdict.MISSED,
        measured_rto_s=rto,
        reason=reason,
        finished_at=timezone.now(),
    )
    publish_drill(run.pk)


# -- publishing ----------------------------------------------------------------------------------------------------


def publish_drill(run_id: int) -> None:
    """The one place that pushes a drill's state to `drill.<id>`: bump `seq`, then send the full state.

    Pushes are hints (the database row is the truth), so a failing channel layer is logged, not raised.
    """
    from migration.dr.selectors import drill_state

    DrillRun.objects.filter(pk=run_id).update(seq=F("seq") + 1)
    message = drill_state(DrillRun.objects.select_related("plan").get(pk=run_id))
    message["type"] = "drill"
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(drill_group_name(run_id), {"type": "drill.update", "message": message})
    except Exception:  # noqa: BLE001 - a push is a hint; the drill goes on
        logger.warning("Could not publish drill %s to the channel layer", run_id, exc_info=True)


# -- scheduling ----------------------------------------------------------------------------------------------------


def plan_schedule_set(
    *, plan: RecoveryPlan, hour: int, minute: int, day_of_week: str = "*", enabled: bool = True
) -> PeriodicTask:
    """Create or change the plan's drill schedule: a crontab (in settings.TIME_ZONE) and a PeriodicTask
    named after the plan that fires `scheduled_drill` with the plan's id."""
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=str(minute),
        hour=str(hour),
        day_of_week=day_of_week,
        day_of_month="*",
        month_of_year="*",
        timezone=settings.TIME_ZONE,
    )
    task = plan.schedule
    with transaction.atomic():
        if task is None:
            name = f"DR drill: {plan.name}"[:200]
            # A task left behind by a deleted plan of the same name is taken over, not duplicated.
            task = PeriodicTask.objects.filter(name=name).first() or PeriodicTask(name=name)
        task.task = SCHEDULED_DRILL_TASK
        task.crontab = crontab
        task.interval = None
        task.kwargs = json.dumps({"plan_id": plan.pk})
        task.enabled = enabled
        task.description = f"Test drill of recovery plan {plan.name}."
        task.full_clean()
        task.save()
        if plan.schedule_id != task.pk:
            plan.schedule = task
            plan.save(update_fields=["schedule"])
    return task


def plan_schedule_clear(*, plan: RecoveryPlan) -> None:
    """Remove the plan's drill schedule."""
    if plan.schedule_id:
        task = plan.schedule
        plan.schedule = None
        plan.save(update_fields=["schedule"])
        task.delete()


def scheduled_drill_run(*, plan_id: int, pace: bool = True) -> DrillRun | None:
    """What the schedule does: start a test drill of the plan and run it here; None when it did not start."""
    plan = RecoveryPlan.objects.filter(pk=plan_id).first()
    if plan is None or not plan.enabled:
        logger.info("Scheduled drill of plan %s skipped: no such plan, or disabled", plan_id)
        return None
    try:
        run = drill_start(plan=plan, trigger=DrillTrigger.SCHEDULE, enqueue=False)
    except DrillNotStarted as exc:
        logger.info("Scheduled drill of %s not started: %s", plan, exc)
        return None
    return drill_execute(run_id=run.pk, pace=pace)
