"""Celery tasks of the migration driver. They take ids (link keys), are idempotent and never sleep.

One chain of `advance_link` tasks per link (its keys in Redis: `migration.chains`): each runs one short step of every
migration crossing that link (see `migration.driver`) and re-enqueues itself with a countdown while any remain. The
watchdog (periodic, and once when a worker starts) restarts chains whose migrations have not moved for a while (a
killed worker): they resume from their saved engine state.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta

from celery import shared_task
from celery.signals import worker_process_init, worker_ready
from django.db.models import Q
from django.utils import timezone

from hybridcloud.core.events import redis_client
from migration.chains import (
    CHAIN_TTL_MS,
    STEP_TIMES_KEPT,
    STEP_TIMES_KEY,
    chain_key,
    holder_key,
    kick_link,
    lock_key,
    process_name,
)
from migration.choices import RUNNING_STATES
from migration.driver import STEP_INTERVAL_S, step_link
from migration.models import Migration
from migration.progress import warm_up
from migration.services import migrations_admit_queued

logger = logging.getLogger(__name__)

LOCK_TTL_S = 10
STALE_AFTER_S = 5.0


@shared_task(acks_late=True, ignore_result=True)
def advance_link(link_key: str, token: str) -> str:
    """One step of every running migration on `link_key`, then the next step is enqueued (if any remain)."""
    r = redis_client()
    lock = r.lock(lock_key(link_key), timeout=LOCK_TTL_S, blocking=False)
    if not lock.acquire(blocking=False):
        # Another step of this link is running, or a killed worker's lock has not expired yet: try again soon,
        # unless this chain has been replaced.
        if (r.get(chain_key(link_key)) or b"").decode() == token:
            advance_link.apply_async((link_key, token), countdown=1.0)
        return "busy"
    try:
        if (r.get(chain_key(link_key)) or b"").decode() != token:
            return "superseded"
        r.set(holder_key(link_key), process_name(), px=CHAIN_TTL_MS)
        started = time.monotonic()
        remaining = step_link(link_key)
        took = time.monotonic() - started
        pipe = r.pipeline(transaction=False)
        pipe.lpush(STEP_TIMES_KEY, f"{link_key} {took:.5f}").ltrim(STEP_TIMES_KEY, 0, STEP_TIMES_KEPT - 1)
        if remaining:
            new_token = uuid.uuid4().hex
            pipe.set(chain_key(link_key), new_token, px=CHAIN_TTL_MS)
        pipe.execute()
        if remaining:
            countdown = max(0.0, STEP_INTERVAL_S - (time.monotonic() - started))
            advance_link.apply_async((link_key, new_token), countdown=countdown)
            return "stepped"
        r.delete(chain_key(link_key))
    finally:
        try:
            lock.release()
        except Exception:  # noqa: BLE001 - expired meanwhile: nothing to release
            logger.warning("the step lock of %s expired before the step ended", link_key)
    # A migration may have started between the query and the delete: it must not wait for the watchdog.
    if Migration.objects.filter(link_key=link_key, state__in=RUNNING_STATES).exists():
        kick_link(link_key)
    return "done"


@shared_task(ignore_result=True)
def admit_queued_task() -> list[int]:
    """Start queued migrations whose hosts have a free slot."""
    return migrations_admit_queued()


@shared_task(ignore_result=True)
def watchdog(force: bool = False) -> list[str]:
    """Restart the chains of links whose migrations have not moved for `STALE_AFTER_S` (all running links when
    `force`, as when a worker starts), and admit queued migrations."""
    running = Migration.objects.filter(state__in=RUNNING_STATES)
    if not force:
        stale = timezone.now() - timedelta(seconds=STALE_AFTER_S)
        running = running.filter(Q(last_step_at__lt=stale) | Q(last_step_at__isnull=True, created_at__lt=stale))
    keys = sorted(set(running.values_list("link_key", flat=True)))
    for key in keys:
        kick_link(key, force=True)
    migrations_admit_queued()
    return keys


@worker_ready.connect
def resume_after_restart(sender=None, **kwargs) -> None:
    """A worker that starts (perhaps after another was killed) resumes every running migration."""
    try:
        watchdog.delay(force=True)
    except Exception:  # noqa: BLE001
        logger.exception("could not enqueue the migration watchdog")


@worker_process_init.connect
def warm_progress_sender(sender=None, **kwargs) -> None:
    """Each worker process opens its progress sender (event loop and Redis connections) once, when it starts."""
    warm_up()
