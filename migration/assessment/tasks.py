"""Celery tasks of the assessment app. They take ids and are idempotent: a computation claims its row (queued, or
running with an expired lease), so a task delivered twice, or re-enqueued by the watchdog, computes it once."""

from __future__ import annotations

import logging

from celery import shared_task
from celery.signals import worker_ready

from migration.assessment.services import assessment_compute, assessments_resume_stale

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True, acks_late=True)
def compute_assessment(assessment_id: int) -> str:
    return assessment_compute(assessment_id=assessment_id)


@shared_task(ignore_result=True)
def assessment_watchdog() -> list[int]:
    """Re-enqueue assessments whose task was lost or whose worker died (beat, every minute, and at worker start)."""
    return assessments_resume_stale()


@worker_ready.connect
def resume_assessments(sender=None, **kwargs) -> None:
    try:
        assessment_watchdog.delay()
    except Exception:  # noqa: BLE001
        logger.exception("could not enqueue the assessment watchdog")
