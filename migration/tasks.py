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
from celery.signals import worker_process_init, worker_process_shutdown, worker_ready
from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone

from hybridcloud.core.events import flush_activity, redis_client
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
#: A step passes its chain on (a new token, or none: the chain ends) only while the chain is still its own.
PASS_CHAIN_ON = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1
"""


@shared_task(acks_late=True, ignore_result=True)
def advance_link(link_key: str, token: str) -> str:
    """One step of every running migration on `link_key`, then the next step is enqueued (if any remain)."""
    r = redis_client()
    lock = r.lock(lock_key(link_key), timeout=LOCK_TTL_S, blocking=False)
    if not lock.acquire(blocking=False):
        # Another step of this link is running, or a killed worker's lock has not expired yet: try again soon,
        # unless this chain has been replaced.
        if (r.get(chain_key(link_key)) or b"").decode() == token:
            advance_link.apply_async((link_key, token), countdown=STEP_INTERVAL_S)
        return "busy"
    try:
        if (r.get(chain_key(link_key)) or b"").decode() != token:
            return "superseded"
        r.set(holder_key(link_key), process_name(), px=CHAIN_TTL_MS)
        started = time.monotonic()
        remaining = _step(link_key)
        took = time.monotonic() - started
        new_token = uuid.uuid4().hex if remaining else ""
        pipe = r.pipeline(transaction=False)
        pipe.lpush(STEP_TIMES_KEY, f"{link_key} {took:.5f}").ltrim(STEP_TIMES_KEY, 0, STEP_TIMES_KEPT - 1)
        pipe.eval(PASS_CHAIN_ON, 1, chain_key(link_key), token, new_token, CHAIN_TTL_MS)
        if not pipe.execute()[-1]:
            # The step outlived its lease (this worker was cut off, or stalled) and the watchdog gave the link to a
            # new chain meanwhile: that chain goes on, this one stops (its writes were conditional on the rows).
            logger.warning("step of link %s ended after its chain was superseded by another: this one stops", link_key)
            return "superseded"
        if remaining:
            countdown = max(0.0, STEP_INTERVAL_S - (time.monotonic() - started))
            advance_link.apply_async((link_key, new_token), countdown=countdown)
            return "stepped"
    finally:
        try:
            lock.release()
        except Exception:  # noqa: BLE001 - expired meanwhile: nothing to release
            logger.warning("the step lock of %s expired before the step ended", link_key)
    # A migration may have started between the query and the delete: it must not wait for the watchdog.
    if Migration.objects.filter(link_key=link_key, state__in=RUNNING_STATES).exists():
        kick_link(link_key)
    return "done"


def _step(link_key: str) -> int:
    """The link's step; when the database drops it (a cut connection, a failover, a server-side kill), the chain goes
    on: each of the step's writes is one statement or one transaction, so what it did not commit the next step takes
    again from the saved rows, STEP_INTERVAL_S later rather than after the watchdog's STALE_AFTER_S."""
    try:
        return step_link(link_key)
    except (OperationalError, InterfaceError) as exc:
        logger.warning("step of link %s lost to the database, taken again next step: %s", link_key, exc)
        connection.close()  # a broken connection is not reused; the next query opens a new one
        return 1


@shared_task(ignore_result=True)
def admit_queued_task() -> list[int]:
    """Start queued migrations whose hosts have a free slot."""
    return migrations_admit_queued()


@shared_task(ignore_result=True)
def watchdog(force: bool = False) -> list[str]:
    """Restart the chains of links whose migrations have not moved for `STALE_AFTER_S` (all running links when
    `force`, as when a worker starts), and admit queued migrations."""
    running = Migration.objects.filter(state__in=RUNNING_STATES)
    keys = sorted(set(running.values_list("link_key", flat=True))) if force else _stale_links(running)
    for key in keys:
        kick_link(key, force=True)
    migrations_admit_queued()
    return keys


def _stale_links(running) -> list[str]:
    """The links whose chain has stopped: one of their migrations has not stepped for STALE_AFTER_S, or one that has
    never stepped (admitted from the queue, perhaps long after it was created) waits on a link without a live chain.
    A migration the chain admitted a moment ago is not a stopped chain: its next step takes it."""
    stale = timezone.now() - timedelta(seconds=STALE_AFTER_S)
    stopped = set(running.filter(last_step_at__lt=stale).values_list("link_key", flat=True))
    waiting = set(running.filter(last_step_at__isnull=True, created_at__lt=stale).values_list("link_key", flat=True))
    r = redis_client()
    stopped |= {key for key in waiting - stopped if not r.exists(chain_key(key))}
    return sorted(stopped)


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


@worker_process_shutdown.connect
def flush_held_activity(sender=None, **kwargs) -> None:
    """A prefork child leaves with `os._exit`, so `atexit` (where `flush_activity` is registered) never runs in it:
    the activity items it holds (up to `ACTIVITY_WINDOW_S` of them, any app's) leave before it does."""
    flush_activity()
