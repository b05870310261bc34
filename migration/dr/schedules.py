"""A plan's drill schedule: a django-celery-beat PeriodicTask per plan, and what firing it does (the test drill of
the schedule slot, started once per slot)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from migration.dr.choices import DrillTrigger
from migration.dr.models import DrillRun, RecoveryPlan
from migration.dr.runner import drill_execute
from migration.dr.services import DrillNotStarted, drill_start

logger = logging.getLogger(__name__)


SCHEDULED_DRILL_TASK = "migration.dr.tasks.scheduled_drill"


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


def schedule_slot_key(*, plan: RecoveryPlan, now: datetime | None = None) -> str:
    """The idempotency key of the schedule slot a firing belongs to: the plan and the latest time at or before
    `now` that its crontab names (minute precision); without a crontab schedule, the current minute. A beat that
    fires twice, or a task redelivered hours later, maps to the same slot."""
    now = (now or timezone.now()).astimezone(timezone.get_current_timezone()).replace(second=0, microsecond=0)
    slot = now
    crontab = plan.schedule.crontab if plan.schedule_id and plan.schedule.crontab_id else None
    if crontab is not None:
        schedule = crontab.schedule
        # Walk back minute by minute (at most a week: the longest crontab period a plan uses).
        for minutes in range(7 * 24 * 60 + 1):
            t = now - timedelta(minutes=minutes)
            if (
                t.minute in schedule.minute
                and t.hour in schedule.hour
                and t.isoweekday() % 7 in schedule.day_of_week
                and t.day in schedule.day_of_month
                and t.month in schedule.month_of_year
            ):
                slot = t
                break
    return f"plan-{plan.pk}@{slot.astimezone(UTC).strftime('%Y-%m-%dT%H:%MZ')}"


def scheduled_drill_run(
    *, plan_id: int, now: datetime | None = None, in_process: bool = False, pace: bool = True
) -> DrillRun | None:
    """What the schedule does: start the test drill of the plan's current schedule slot (None when it did not
    start: disabled, one running, or this slot's drill already started). Its steps are enqueued (no worker
    waits for it), or run to the end here with `in_process`."""
    plan = RecoveryPlan.objects.select_related("schedule__crontab").filter(pk=plan_id).first()
    if plan is None or not plan.enabled:
        logger.info("Scheduled drill of plan %s skipped: no such plan, or disabled", plan_id)
        return None
    try:
        run = drill_start(
            plan=plan,
            trigger=DrillTrigger.SCHEDULE,
            enqueue=not in_process,
            slot_key=schedule_slot_key(plan=plan, now=now),
        )
    except DrillNotStarted as exc:
        logger.info("Scheduled drill of %s not started: %s", plan, exc)
        return None
    return drill_execute(run_id=run.pk, pace=pace) if in_process else run
