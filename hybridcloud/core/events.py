"""The one channel-layer publisher: every push to a websocket group goes through `publish` (or `publish_keyed`).

Pushes are hints: the database is the truth and a client that sees a gap in `seq` asks for a snapshot. So a push
leaves only after the transaction that made its change commits (`transaction.on_commit`; at once outside a
transaction), and a failed send is logged, never raised into the caller.

The `activity` group (the panel on every page) mixes every app's messages, so its `seq` comes from one Redis counter
(INCRBY `ACTIVITY_SEQ_KEY`), stamped here when a message leaves: monotonic for every connection, seeded from the clock
so that a restarted Redis does not start it again below what pages have seen (`activity_seq()` reads it for a
snapshot). Other groups' messages carry the `seq` their publisher gives them (a row's own counter).

Built for latency (bench/progress_push.py, bench/migrations_in_flight.py):
- one long-lived event loop and channel-layer connection per process, in a daemon thread (`warm_up()` opens them
  when a worker process starts): `async_to_sync` per send would open a new loop and connection every time;
- each message is encoded to JSON once, here: consumers receive `event["text"]` (or their own entry of
  `event["texts"]`) and send it as it is, without touching the database or re-encoding it per socket;
- `batch()` collects the publishes of a block (a driver step) and sends them together, with the activity items of
  the batch merged into ONE activity message (`items`): every client receives every activity message;
- activity items are coalesced per process to at most one activity message per type every `ACTIVITY_WINDOW_S`
  (issue 19: a thousand migrations in flight stepped on many links would otherwise send every client a message per
  link step): the first after a quiet window leaves at once, the ones published within the window are held (the
  latest state of each item wins) and leave together when it ends (a timer on the sender loop), with `sent_at` the
  moment they leave. Nothing a page shows is lost: the row stays the truth and a page resyncs on a `seq` gap; the
  `seq` is stamped as a message leaves, so holding one spends none. `flush_activity()` sends what is held now (at
  process exit: `atexit`, and `worker_process_shutdown` in a prefork child, which skips `atexit`; and before a test
  listens). Messages without `item` (workload changes) are never held.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from functools import partial
from typing import Any

import redis
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)

ACTIVITY_GROUP = "activity"
#: The channel-layer event type of activity messages (consumers: `activity_event`).
ACTIVITY_EVENT = "activity.event"
ACTIVITY_SEQ_KEY = "hybridcloud:activity:seq"
#: At most one activity message per type (migration, alarm, move group) per process in this many seconds.
ACTIVITY_WINDOW_S = 1.0

_local = threading.local()
_redis: redis.Redis | None = None


def redis_client() -> redis.Redis:
    """A Redis client for the activity counter and other small keys (one per process; redis-py reconnects after a
    fork)."""
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    return _redis


def activity_seq() -> int:
    """The activity group's current sequence number (0 when Redis cannot say)."""
    try:
        return int(redis_client().get(ACTIVITY_SEQ_KEY) or 0)
    except Exception:  # noqa: BLE001 - a snapshot without a counter still works: the client resyncs on gaps
        logger.warning("could not read the activity sequence", exc_info=True)
        return 0


def publish(group: str, type: str, payload: dict[str, Any]) -> None:  # noqa: A002 - the channel layer's own word
    """Send `payload` (the message a client receives) to `group` as an event of `type` (its consumers' handler is
    `type` with dots as underscores), after the current transaction commits. Never raises."""
    transaction.on_commit(partial(_queue, [(group, {"type": type, "message": payload})]))


def publish_keyed(group: str, type: str, payloads: dict[str, list[dict[str, Any]]]) -> None:  # noqa: A002
    """One event carrying messages per key (a driver step: those of each migration of the link), after commit: each
    consumer of `group` sends the ones under its own key (`event["texts"][key]`, a list), if any. Never raises."""
    if payloads:
        transaction.on_commit(partial(_queue, [(group, {"type": type, "messages": payloads})]))


def publish_activity(payload: dict[str, Any]) -> None:
    """`publish` to the activity group: `payload` is stamped with the group's next `seq` when it leaves. A payload
    with an `item` is merged with the other items of the same type into one message (`items`): those of the batch,
    and those held while the process's activity window is open (at most one message per type a second, the latest
    state of each item winning; see the module's docstring)."""
    publish(ACTIVITY_GROUP, ACTIVITY_EVENT, payload)


@contextmanager
def batch() -> Iterator[None]:
    """Collect the pushes made inside the block and send them together at its end (one hop to the sender loop, the
    activity items merged), as the driver does for a link's step."""
    if getattr(_local, "batch", None) is not None:
        yield
        return
    _local.batch = []
    try:
        yield
    finally:
        sends, _local.batch = _local.batch, None
        if sends:
            _flush(sends)


def _queue(sends: list[tuple[str, dict]]) -> None:
    pending = getattr(_local, "batch", None)
    if pending is not None:
        pending.extend(sends)
    else:
        _flush(sends)


def _coalesce(sends: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """The activity items of one flush merged into one activity message per type (at the place of the first one;
    the latest item of each key wins); other activity messages (workload changes) keep their own."""
    merged: list[tuple[str, dict]] = []
    by_type: dict[str, dict] = {}
    for group, event in sends:
        message = event.get("message")
        if group != ACTIVITY_GROUP or message is None or "item" not in message:
            merged.append((group, event))
            continue
        kind = message.get("type")
        if kind not in by_type:
            by_type[kind] = {"type": kind, "items": {}, "sent_at": message.get("sent_at")}
            merged.append((group, {"type": event["type"], "message": by_type[kind]}))
        item = message["item"]
        by_type[kind]["items"][item.get("key", item.get("id"))] = item
    for message in by_type.values():
        message["items"] = list(message["items"].values())
    return merged


def _stamp_activity(sends: list[tuple[str, dict]]) -> None:
    """Give each activity message its `seq` from the shared counter (one round trip for the whole flush)."""
    activity = [event["message"] for group, event in sends if group == ACTIVITY_GROUP and "message" in event]
    if not activity:
        return
    # A counter that a restarted Redis forgot would start again at 1, below what every open page has seen, and they
    # would drop every push as already seen: when missing, it starts from the clock in microseconds (above any count
    # a Redis that lived before could have reached; below 2**53, exact in JavaScript).
    pipe = redis_client().pipeline(transaction=False)
    pipe.set(ACTIVITY_SEQ_KEY, int(time.time() * 1_000_000), nx=True)
    pipe.incrby(ACTIVITY_SEQ_KEY, len(activity))
    last = pipe.execute()[-1]
    for offset, message in enumerate(activity):
        message["seq"] = last - len(activity) + 1 + offset
        if "items" in message:
            if len(message["items"]) == 1:
                message["item"] = message["items"][0]
            message["state"] = message["item"]["state"] if "item" in message else "progress"


def _encode(event: dict) -> dict:
    """The event with its message(s) encoded to JSON once, for every socket of the group."""
    if "message" in event:
        return {"type": event["type"], "text": _dumps(event["message"])}
    texts = {str(key): [_dumps(m) for m in messages] for key, messages in event["messages"].items()}
    return {"type": event["type"], "texts": texts}


def _dumps(message: dict) -> str:
    return json.dumps(message, separators=(",", ":"))


def _flush(sends: list[tuple[str, dict]]) -> None:
    try:
        sends = _coalesce(sends)
        with _held.lock:  # stamped and handed to the loop in one order: each process's activity seqs leave in order
            sends = _held.admit(sends, time.monotonic())
            _stamp_activity(sends)
            encoded = [(group, _encode(event)) for group, event in sends]
            future = asyncio.run_coroutine_threadsafe(_send_all(encoded), _sender_loop()) if encoded else None
        if future is not None:
            future.result(timeout=10)
    except Exception:  # noqa: BLE001 - pushes are hints: log and carry on
        logger.exception("sending %d channel-layer messages failed", len(sends))


def _is_item_message(group: str, event: dict) -> bool:
    return group == ACTIVITY_GROUP and "items" in event.get("message", {})


class _HeldActivity:
    """This process's activity items waiting for their window (see the module's docstring): per message type, the
    latest item of each key, in the order they were first held."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.pid = os.getpid()
        self.last_sent = float("-inf")  # time.monotonic() of the last activity items sent
        self.by_type: dict[Any, dict[str, Any]] = {}
        self.timer_armed = False

    def admit(self, sends: list[tuple[str, dict]], now: float) -> list[tuple[str, dict]]:
        """`sends` with their activity items taken out and held; when the window has ended, every held item goes
        back in (at the place of the first activity item message) to leave now. Called with the lock held."""
        if self.pid != os.getpid():  # a forked child holds nothing of its parent's
            self.reset()
        kept, place = [], None
        for group, event in sends:
            if not _is_item_message(group, event):
                kept.append((group, event))
                continue
            place = len(kept) if place is None else place
            self.hold(event)
        if not self.by_type:
            return kept
        wait = self.last_sent + ACTIVITY_WINDOW_S - now
        if wait > 0:
            self.arm(wait)
            return kept
        kept[place if place is not None else len(kept) : 0] = self.take(now)
        return kept

    def hold(self, event: dict) -> None:
        message = event["message"]
        held = self.by_type.setdefault(message["type"], {"event": event["type"], "items": {}, "stamped": False})
        held["stamped"] = held["stamped"] or message.get("sent_at") is not None
        for item in message["items"]:
            key = item.get("key", item.get("id"))
            held["items"].pop(key, None)  # the latest wins, and takes its place at the end
            held["items"][key] = item

    def take(self, now: float) -> list[tuple[str, dict]]:
        """The held items as one activity message per type, leaving now (stamped `sent_at` now if theirs were)."""
        sent_at = time.time()
        sends = []
        for kind, held in self.by_type.items():
            message = {"type": kind, "items": list(held["items"].values())}
            if held["stamped"]:
                message["sent_at"] = sent_at
            sends.append((ACTIVITY_GROUP, {"type": held["event"], "message": message}))
        self.by_type, self.last_sent = {}, now
        return sends

    def arm(self, wait: float) -> None:
        if not self.timer_armed:
            self.timer_armed = True
            loop = _sender_loop()
            loop.call_soon_threadsafe(loop.call_later, wait, _send_held_in_loop)


_held = _HeldActivity()


def _send_held_in_loop() -> None:
    """The window's end, on the sender loop: what is held leaves (not waiting for it there: this is the loop)."""
    try:
        with _held.lock:
            _held.timer_armed = False
            sends = _held.admit([], time.monotonic())
            _stamp_activity(sends)
            encoded = [(group, _encode(event)) for group, event in sends]
            if encoded:
                asyncio.get_running_loop().create_task(_send_all(encoded))
    except Exception:  # noqa: BLE001 - pushes are hints: log and carry on
        logger.exception("sending the held activity items failed")


def flush_activity() -> None:
    """Send the activity items this process holds now, without waiting for their window (a process about to exit;
    a test before it listens, so that it receives no earlier test's). Never raises; not from the sender loop."""
    try:
        with _held.lock:
            if _held.pid != os.getpid() or not _held.by_type:
                return
            sends = _held.take(time.monotonic())
            _stamp_activity(sends)
            encoded = [(group, _encode(event)) for group, event in sends]
            future = asyncio.run_coroutine_threadsafe(_send_all(encoded), _sender_loop())
        future.result(timeout=10)
    except Exception:  # noqa: BLE001 - pushes are hints: log and carry on
        logger.exception("sending the held activity items failed")


atexit.register(flush_activity)


_loop: asyncio.AbstractEventLoop | None = None
_loop_pid: int | None = None
_activity_lock = asyncio.Lock()  # the sender loop's (one per loop: a new loop gets a new one)
_loop_lock = threading.Lock()


def _sender_loop() -> asyncio.AbstractEventLoop:
    """One event loop per process, in a daemon thread, that keeps the channel layer's Redis connection open."""
    global _loop, _loop_pid, _activity_lock
    with _loop_lock:
        if _loop is None or _loop_pid != os.getpid() or not _loop.is_running():
            loop = asyncio.new_event_loop()
            started = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(started.set)
                loop.run_forever()

            threading.Thread(target=run, name="channel-layer-sender", daemon=True).start()
            started.wait(5)
            _loop, _loop_pid, _activity_lock = loop, os.getpid(), asyncio.Lock()
        return _loop


async def _send_all(sends: list[tuple[str, dict]]) -> None:
    """Groups are sent to concurrently; each group's messages in order (their seq order)."""
    layer = get_channel_layer()
    by_group: dict[str, list[dict]] = {}
    for group, event in sends:
        by_group.setdefault(group, []).append(event)

    async def send_in_order(group: str, events: list[dict]) -> None:
        # The activity group's flushes one after the other, in the order they were stamped (the lock is fair).
        async with _activity_lock if group == ACTIVITY_GROUP else nullcontext():
            for event in events:
                await layer.group_send(group, event)

    results = await asyncio.gather(
        *(send_in_order(group, events) for group, events in by_group.items()), return_exceptions=True
    )
    for result in results:
        if isinstance(result, BaseException):
            logger.warning("channel-layer messages were not all sent: %r", result)


def warm_up() -> None:
    """Open this process's sender loop, channel-layer connection and counter connection now (a worker process calls
    it when it starts), so that the first push is as fast as the others. Never raises."""
    try:
        redis_client().ping()
        asyncio.run_coroutine_threadsafe(
            get_channel_layer().group_send("warm-up", {"type": "noop"}), _sender_loop()
        ).result(timeout=10)
    except Exception:  # noqa: BLE001 - the first push will open them instead
        logger.warning("could not warm the channel-layer sender up", exc_info=True)
