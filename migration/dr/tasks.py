"""Celery tasks of the DR app: each takes ids and calls a service; each is safe to deliver twice.

A drill or planned migration is a chain of `drill_step` tasks, each holding the run's lease (see
migration/dr/leases.py); `drill_watchdog` (beat every 15 s, and at every worker start) resumes a chain whose
worker died, or fails the run with a reason.
"""

from celery import shared_task
from celery.signals import worker_ready
from django.utils import timezone

from migration.dr import leases, runner, schedules


def _continue(run_id: int, step: runner.StepResult) -> None:
    if step.next_token is not None:
        drill_step.apply_async((run_id, step.next_token), countdown=step.countdown)


@shared_task(acks_late=True, ignore_result=True)
def run_drill(run_id: int) -> None:
    """Claim a queued drill and lay its steps out, then start its chain of steps; a second delivery finds it no
    longer queued and does nothing."""
    token = runner.drill_begin(run_id=run_id)
    if token is not None:
        drill_step.apply_async((run_id, token), countdown=0.0)


@shared_task(acks_late=True, ignore_result=True)
def drill_step(run_id: int, token: int) -> None:
    """One short step of a drill or planned migration, then the next one is enqueued with its countdown. A
    duplicate delivery, or a step of a chain the watchdog replaced, finds its token taken and does nothing."""
    _continue(run_id, runner.drill_step(run_id=run_id, token=token))


@shared_task(acks_late=True, ignore_result=True)
def planned_migration_step(run_id: int, token: int) -> None:
    """The name planned migrations' steps had before `drill_step` (messages already queued still arrive)."""
    _continue(run_id, runner.drill_step(run_id=run_id, token=token))


@shared_task(acks_late=True, ignore_result=True)
def scheduled_drill(plan_id: int) -> None:
    """Fired by django-celery-beat: the test drill of the plan's current schedule slot, unless that slot's drill
    already started (a beat firing twice, a redelivery) or another drill of the plan is running."""
    schedules.scheduled_drill_run(plan_id=plan_id)


@shared_task(ignore_result=True)
def drill_watchdog(force: bool = False, follow_up: bool = False) -> list[int]:
    """Resume runs whose lease expired (every running one when `force`), or fail them after too many tries. With
    `follow_up`, look once more when the latest lease now held has expired (a worker start: the worker that held
    it may be the one that died)."""
    touched = runner.drills_watchdog(force=force)
    if follow_up:
        latest = leases.latest_lease_expiry()
        if latest is not None:
            wait_s = (latest - timezone.now()).total_seconds() + 1.0
            drill_watchdog.apply_async(countdown=max(wait_s, 0.0))
    return touched


@worker_ready.connect
def resume_drills_after_restart(sender=None, **kwargs) -> None:
    """A worker that starts (perhaps after another was killed) looks for runs that lost their worker now, and
    once more when the leases held when it started would have expired."""
    drill_watchdog.delay(follow_up=True)
