"""Progress pushes: the one place that sends to the channel layer.

Two groups: `migration.<id>` (one migration's page) and `activity` (the panel on every page). Every message
carries `seq` and `state`. For a migration group `seq` is the row's own counter, raised in the same
conditional UPDATE as the change it announces, so a push always follows its database write. The activity
group mixes every migration, so its `seq` comes from one Redis counter (INCR, `ACTIVITY_SEQ_KEY`): it is
monotonic for every connection (seeded from the clock, so a restarted Redis does not start it again below what
pages have seen), and the activity snapshot reports its current value.

Pushes are hints: the database is the truth and a client that sees a gap asks for a snapshot. So a failed
send is logged, never raised into the driver. Progress is throttled (at most ~10 messages a second per
migration on its own group, one every 5 s on the activity group); state changes are always sent.

The push path is built for latency (bench/progress_push.py: 100 migrations, 20 clients, p99 under 100 ms):
- one long-lived event loop and channel-layer connection per process (`warm_up()` opens them when a worker
  process starts, so the first push does not pay for them);
- the activity items of one flush (a driver step) go out as ONE activity message,
  `{"type": "migration", "seq", "state", "items": [...]}` (plus `"item"` when there is only one): every client
  receives every activity message, so 100 migrations' items must not cost 100 fan-outs;
- each message is encoded to JSON once, here (`"text"`); the consumers send that text as it is, without
  touching the database or re-encoding it per socket.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import threading
import time
from contextlib import contextmanager
from typing import Any

from channels.layers import get_channel_layer
from django.conf import settings

logger = logging.getLogger(__name__)

ACTIVITY_GROUP = "activity"
ACTIVITY_SEQ_KEY = "hybridcloud:activity:seq"
MIN_INTERVAL_S = 0.1
ACTIVITY_MIN_INTERVAL_S = 5.0
STATE_KINDS = frozenset({"created", "queued", "admitted", "phase", "completed", "failed", "cancelled"})

_local = threading.local()
_last_sent: dict[int, float] = {}
_last_activity: dict[int, float] = {}
_redis = None


def migration_group(migration_id: int) -> str:
    return f"migration.{migration_id}"


def redis_client():
    """A Redis client for the activity counter (one per process; redis-py reconnects after a fork)."""
    global _redis
    if _redis is None:
        import redis

        _redis = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    return _redis


def activity_seq() -> int:
    """The activity group's current sequence number (0 when Redis cannot say)."""
    try:
        return int(redis_client().get(ACTIVITY_SEQ_KEY) or 0)
    except Exception:  # noqa: BLE001 - a snapshot without a counter still works: the client resyncs on gaps
        logger.warning("could not read the activity sequence", exc_info=True)
        return 0


def activity_item(migration) -> dict[str, Any]:
    """One migration as the activity panel (static/js/app.js) shows it."""
    workload = migration.workload
    return {
        "key": f"migration-{migration.pk}",
        "id": migration.pk,
        "title": f"{workload.name} → {migration.destination_host.name}",
        "url": migration.get_absolute_url(),
        "state": migration.state,
        "percent": migration.percent,
        "active": migration.is_active,
    }


def progress_fields(migration) -> dict[str, Any]:
    """The numbers a live page shows, from the row."""
    current_round = None
    if migration.engine_state and migration.engine_state.get("stage") == "round":
        current_round = len(migration.engine_state.get("rounds") or [])
    return {
        "id": migration.pk,
        "state": migration.state,
        "phase": migration.phase,
        "percent": migration.percent,
        "bytes_sent": migration.bytes_sent,
        "memory_bytes": migration.memory_bytes,
        "disk_bytes": migration.disk_bytes,
        "memory_sent": migration.memory_sent_bytes,
        "dirty_remaining": migration.dirty_remaining_bytes,
        "rate_bps": migration.transfer_rate_bps,
        "rate_limit": migration.rate_limit,
        "rate_limit_sentence": migration.rate_limit_sentence,
        "eta_s": migration.eta_s,
        "round": current_round,
        "rounds_count": migration.rounds_count,
        "sim_elapsed_s": migration.sim_elapsed_s,
        "downtime_s": migration.downtime_s,
        "total_time_s": migration.total_time_s,
        "outcome": migration.outcome,
        "outcome_reason": migration.outcome_reason,
        "predicted_total_time_s": migration.predicted_total_time_s,
        "predicted_p10_s": migration.predicted_p10_s,
        "predicted_p90_s": migration.predicted_p90_s,
    }


def due(migration_id: int) -> bool:
    """Whether a progress push for this migration would pass the throttle now (the driver asks before it
    spends a sequence number on one)."""
    return time.monotonic() - _last_sent.get(migration_id, 0.0) >= MIN_INTERVAL_S


def publish_progress(
    migration,
    event_kind: str,
    *,
    seq: int | None = None,
    state: str | None = None,
    new_rounds: list[dict] | None = None,
) -> bool:
    """Push `migration`'s progress to its group and to the activity group; never raises.

    `seq`/`state` default to the row's; the driver passes them when one step announces several state changes.
    `new_rounds` are the rounds completed since the last push (the page's chart grows from them). Returns
    whether a message was queued for sending (throttled progress is dropped: its seq was never used).
    """
    try:
        now = time.monotonic()
        is_change = event_kind in STATE_KINDS
        if not is_change and now - _last_sent.get(migration.pk, 0.0) < MIN_INTERVAL_S:
            return False
        _last_sent[migration.pk] = now
        message = {
            "type": "progress" if not is_change else "state",
            "event": event_kind,
            **progress_fields(migration),
            "seq": migration.seq if seq is None else seq,
            "state": state or migration.state,
            "rounds": new_rounds or [],
            "sent_at": time.time(),
        }
        sends = [(migration_group(migration.pk), {"type": "migration.progress", "message": message})]
        if migration.pk not in _last_activity:
            # Spread the migrations' activity pushes over the interval: all at once would be a burst that every
            # client's socket pays for at the same moment.
            _last_activity[migration.pk] = now - random.uniform(0.0, ACTIVITY_MIN_INTERVAL_S)
        if is_change or now - _last_activity[migration.pk] >= ACTIVITY_MIN_INTERVAL_S:
            _last_activity[migration.pk] = now
            item = activity_item(migration)
            item["state"] = message["state"]
            activity = {"type": "migration", "item": item, "sent_at": message["sent_at"]}
            sends.append((ACTIVITY_GROUP, {"type": "activity.event", "message": activity}))
        if getattr(_local, "batch", None) is not None:
            _local.batch.extend(sends)
        else:
            _flush(sends)
        if not migration_is_active(message["state"]):
            _last_sent.pop(migration.pk, None)
            _last_activity.pop(migration.pk, None)
        return True
    except Exception:  # noqa: BLE001 - pushes are hints: log and carry on
        logger.exception("progress push for migration %s failed", getattr(migration, "pk", None))
        return False


def publish_workload_change(*, workload_id: int | None, action: str) -> bool:
    """Tell the activity group that a workload was created, changed or removed (the workloads page refetches its
    table on it): `{"type": "workload", "seq", "state": action, "workload": {"id", "name", "kind"}}`. Never raises.
    A removed workload is announced by id alone (its row is gone)."""
    try:
        from inventory.models import Workload

        row = Workload.objects.filter(pk=workload_id).values("id", "name", "kind").first() if workload_id else None
        message = {
            "type": "workload",
            "state": action,
            "workload": row or {"id": workload_id, "name": None, "kind": None},
            "sent_at": time.time(),
        }
        sends = [(ACTIVITY_GROUP, {"type": "activity.event", "message": message})]
        if getattr(_local, "batch", None) is not None:
            _local.batch.extend(sends)
        else:
            _flush(sends)
        return True
    except Exception:  # noqa: BLE001 - pushes are hints: log and carry on
        logger.exception("workload push for workload %s failed", workload_id)
        return False


def publish_activity_item(*, kind: str, item: dict[str, Any]) -> bool:
    """Push one item that is not a migration (an alarm, ...) to the activity panel:
    `{"type": kind, "seq", "state", "item": {"key", "id", "title", "url", "state", "active"}}`; the panel shows
    it while `active` is true. Never raises; call it after commit."""
    try:
        message = {"type": kind, "item": item, "sent_at": time.time()}
        _flush([(ACTIVITY_GROUP, {"type": "activity.event", "message": message})])
        return True
    except Exception:  # noqa: BLE001 - pushes are hints: log and carry on
        logger.exception("activity push of %s %s failed", kind, item.get("key"))
        return False


def migration_is_active(state: str) -> bool:
    from migration.choices import ACTIVE_STATES

    return state in ACTIVE_STATES


@contextmanager
def batch():
    """Collect the pushes made inside the block and send them together at its end (one event loop, one Redis
    connection), as the driver does for every migration of a link step."""
    outer = getattr(_local, "batch", None)
    if outer is not None:
        yield
        return
    _local.batch = []
    try:
        yield
    finally:
        sends, _local.batch = _local.batch, None
        if sends:
            _flush(sends)


_loop: asyncio.AbstractEventLoop | None = None
_loop_pid: int | None = None
_loop_lock = threading.Lock()


def _sender_loop() -> asyncio.AbstractEventLoop:
    """One event loop per process, in a daemon thread, that keeps the channel layer's Redis connection open:
    `async_to_sync` per batch would open a new loop and a new connection every time (several ms each)."""
    global _loop, _loop_pid
    with _loop_lock:
        if _loop is None or _loop_pid != os.getpid() or not _loop.is_running():
            loop = asyncio.new_event_loop()
            started = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(started.set)
                loop.run_forever()

            threading.Thread(target=run, name="progress-sender", daemon=True).start()
            started.wait(5)
            _loop, _loop_pid = loop, os.getpid()
        return _loop


def _coalesce(sends: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """The activity items of one flush merged into one activity message (at the place of the first one; other
    activity messages, such as workload changes, keep their own)."""
    items = [
        event["message"]["item"] for group, event in sends if group == ACTIVITY_GROUP and "item" in event["message"]
    ]
    if len(items) <= 1:
        return sends
    merged: list[tuple[str, dict]] = []
    placed = False
    for group, event in sends:
        if group == ACTIVITY_GROUP and "item" in event["message"]:
            if placed:
                continue
            placed = True
            # The latest state of each migration (a step may announce several for one).
            latest = {item["key"]: item for item in items}
            message = {"type": "migration", "items": list(latest.values()), "sent_at": event["message"]["sent_at"]}
            event = {"type": "activity.event", "message": message}
        merged.append((group, event))
    return merged


def _flush(sends: list[tuple[str, dict]]) -> None:
    try:
        sends = _coalesce(sends)
        activity = [event for group, event in sends if group == ACTIVITY_GROUP]
        if activity:
            # A counter that a restarted Redis forgot would start again at 1, below what every open page has seen,
            # and they would drop every push as already seen: when missing, it starts from the clock in microseconds
            # (above any count a Redis that lived before could have reached; below 2**53, exact in JavaScript).
            pipe = redis_client().pipeline(transaction=False)
            pipe.set(ACTIVITY_SEQ_KEY, int(time.time() * 1_000_000), nx=True)
            pipe.incrby(ACTIVITY_SEQ_KEY, len(activity))
            last = pipe.execute()[-1]
            for offset, event in enumerate(activity):
                message = event["message"]
                message["seq"] = last - len(activity) + 1 + offset
                if "items" in message and len(message["items"]) == 1:
                    message["item"] = message["items"][0]
                elif "item" in message:
                    message["items"] = [message["item"]]
                if "item" in message:
                    message["state"] = message["item"]["state"]
                elif "items" in message:
                    message["state"] = "progress"
        for _, event in sends:
            # Encoded once here, sent as is by every consumer of the group.
            event["text"] = json.dumps(event.pop("message"), separators=(",", ":"))
        asyncio.run_coroutine_threadsafe(_send_all(sends), _sender_loop()).result(timeout=10)
    except Exception:  # noqa: BLE001
        logger.exception("sending %d progress messages failed", len(sends))


def warm_up() -> None:
    """Open this process's sender loop, channel-layer connection and counter connection, and load the URLconf,
    now (a worker process calls it when it starts), so that the first progress push is as fast as the others.
    Never raises."""
    try:
        from django.urls import reverse

        reverse("migration:detail", args=[1])  # loads the URLconf (activity items carry a URL): ~0.4 s the first time
        redis_client().ping()
        asyncio.run_coroutine_threadsafe(
            get_channel_layer().group_send("warm-up", {"type": "noop"}), _sender_loop()
        ).result(timeout=10)
    except Exception:  # noqa: BLE001 - the first push will open them instead
        logger.warning("could not warm the progress sender up", exc_info=True)


async def _send_all(sends: list[tuple[str, dict]]) -> None:
    """Groups are sent to concurrently; each group's messages in order (their seq order)."""
    layer = get_channel_layer()
    by_group: dict[str, list[dict]] = {}
    for group, event in sends:
        by_group.setdefault(group, []).append(event)

    async def send_in_order(group: str, events: list[dict]) -> None:
        for event in events:
            await layer.group_send(group, event)

    results = await asyncio.gather(
        *(send_in_order(group, events) for group, events in by_group.items()), return_exceptions=True
    )
    for result in results:
        if isinstance(result, BaseException):
            logger.warning("progress messages were not all sent: %r", result)
