"""Celery tasks of the DR app: each takes ids and calls a service; both are safe to deliver twice."""

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
