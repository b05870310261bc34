"""Celery tasks of the capacity app: the telemetry tick (beat, every 5 minutes by default) and the evacuation
watch (re-enqueues itself while its evacuation runs). They take ids, are idempotent and never sleep."""

from __future__ import annotations

from celery import shared_task

from migration.capacity import sampling
from migration.capacity.services.evacuations import evacuation_refresh, evacuations_refresh_running


@shared_task(ignore_result=True)
def sample_utilisation(interval_s: int = 300) -> dict:
    """One tick of telemetry, then retention; also refreshes running evacuations (a fallback for their watch)."""
    written = sampling.sample_tick(interval_s=interval_s)
    retention = sampling.apply_retention()
    evacuations_refresh_running()
    return {"written": written, **retention}


@shared_task(ignore_result=True)
def watch_evacuation(evacuation_id: int) -> str:
    """Advance one evacuation (start waiting items, record outcomes, finish it); again in a second while it runs."""
    state = evacuation_refresh(evacuation_id=evacuation_id)
    if state == "running":
        watch_evacuation.apply_async((evacuation_id,), countdown=1.0)
    return state
