"""Celery tasks of the DR app: each takes ids and calls a service; each is safe to deliver twice."""

from celery import shared_task

from migration.dr import services


@shared_task(acks_late=True, ignore_result=True)
def run_drill(run_id: int) -> None:
    """Run a queued drill to its end; a second delivery finds it no longer queued and does nothing."""
    services.drill_execute(run_id=run_id)


@shared_task(acks_late=True, ignore_result=True)
def scheduled_drill(plan_id: int) -> None:
    """Fired by django-celery-beat: one test drill of the plan, unless one is already running."""
    services.scheduled_drill_run(plan_id=plan_id)


@shared_task(acks_late=True, ignore_result=True)
def planned_migration_step(run_id: int, token: int) -> None:
    """One short step of a planned migration; it re-enqueues itself (after commit) while the run goes on. A
    duplicate delivery finds its token taken and does nothing."""
    services.planned_migration_advance(run_id=run_id, token=token)
