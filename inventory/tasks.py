"""Celery tasks of the inventory: running an uploaded RVTools import, and its watchdog. They take ids and are
idempotent (see `inventory.importers.runs`)."""

from __future__ import annotations

from celery import shared_task

from inventory.importers import runs


@shared_task(acks_late=True, ignore_result=True)
def run_estate_import(import_id: int) -> None:
    """Claims a queued import and runs it; a second delivery finds it no longer queued and does nothing."""
    runs.estate_import_run(import_id=import_id)


@shared_task(acks_late=True, ignore_result=True)
def estate_import_watchdog() -> None:
    """Re-queues imports whose worker died (beat, every minute)."""
    runs.estate_imports_resume_stale()
