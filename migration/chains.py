"""The driver's chains of steps, as Redis keeps them, and how the services start one (by task name: the tasks sit
above the services and the driver, which they call).

One chain of `advance_link` tasks per link (`migration.tasks`). The chain is identified by a token kept in Redis: a
task whose token is not the current one (a duplicate delivery, or a chain replaced by the watchdog) does nothing,
and each step rotates the token. A short Redis lock keeps two steps of one link from ever running at once. Each step
records which process runs it (`link_step_holder`), so a fault test can kill the very process holding the work.
"""

from __future__ import annotations

import os
import socket
import uuid

from celery import current_app

from hybridcloud.core.events import redis_client

ADVANCE_LINK_TASK = "migration.tasks.advance_link"
ADMIT_QUEUED_TASK = "migration.tasks.admit_queued_task"
CHAIN_TTL_MS = 15_000
#: The latest step durations (`<link key> <seconds>`), newest first, for benchmarks and operators.
STEP_TIMES_KEY = "hybridcloud:migration:step_seconds"
STEP_TIMES_KEPT = 20_000


def chain_key(link_key: str) -> str:
    return f"hybridcloud:migration:chain:{link_key}"


def lock_key(link_key: str) -> str:
    return f"hybridcloud:migration:lock:{link_key}"


def holder_key(link_key: str) -> str:
    return f"hybridcloud:migration:holder:{link_key}"


def process_name() -> str:
    """This host and process, as a step's holder records it (`host:pid`)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def recent_step_seconds() -> list[tuple[str, float]]:
    """The latest steps' durations (link key, seconds), newest first (at most `STEP_TIMES_KEPT`)."""
    out = []
    for raw in redis_client().lrange(STEP_TIMES_KEY, 0, -1):
        key, _, seconds = raw.decode().rpartition(" ")
        out.append((key, float(seconds)))
    return out


def link_step_holder(link_key: str) -> str | None:
    """The process (`host:pid`) that ran, or is running, the latest step of the link's chain."""
    value = redis_client().get(holder_key(link_key))
    return value.decode() if value else None


def kick_link(link_key: str, *, force: bool = False) -> bool:
    """Make sure a chain of steps runs for `link_key`. Without `force`, an existing chain is left alone (it picks
    new migrations up at its next step); with it, a new chain replaces whatever was there."""
    token = uuid.uuid4().hex
    r = redis_client()
    if force:
        r.set(chain_key(link_key), token, px=CHAIN_TTL_MS)
    elif not r.set(chain_key(link_key), token, nx=True, px=CHAIN_TTL_MS):
        return False
    current_app.send_task(ADVANCE_LINK_TASK, args=(link_key, token))
    return True


def kick_admission() -> None:
    """Have a worker start the queued migrations that fit now (after a slot freed outside a driver step)."""
    current_app.send_task(ADMIT_QUEUED_TASK)
