"""Celery tasks of the alarms app: the evaluation tick (beat, every minute) and one delivery attempt. They take
ids, call a service and are safe to deliver twice (see services)."""

from __future__ import annotations

from celery import shared_task

from migration.alarms import services


@shared_task(acks_late=True, ignore_result=True)
def evaluate(rule_ids: list[int] | None = None, resume_grace_s: float = 60.0) -> dict:
    """Evaluate the rules now, then re-enqueue deliveries overdue by `resume_grace_s` (their task was lost with its
    worker)."""
    result = services.alarms_evaluate(rule_ids=rule_ids)
    resumed = services.deliveries_resume_due(grace_s=resume_grace_s)
    return {"raised": result.raised, "refreshed": result.refreshed, "resolved": result.resolved, "resumed": resumed}


@shared_task(acks_late=True, ignore_result=True)
def deliver(delivery_id: int) -> str:
    """One attempt of one delivery (the service schedules the next one after backoff when it fails)."""
    return services.delivery_attempt(delivery_id=delivery_id)
