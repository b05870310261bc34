"""Progress pushes of migrations: what their pages and the activity panel receive (sent by hybridcloud.core.events).

Groups: `migration.<id>` (one migration's page: the changes made by the services, such as a start, an admission or
a cancel), `migration.step.<link key>` (every migration page of that link: a driver step's messages, one event per
step with one message per migration, `link_step_group`) and the activity group (the panel on every page). Every
message carries `seq` and `state`. For a migration `seq` is the row's own counter, raised in the same conditional
UPDATE as the change it announces, and every push leaves after that write commits; the activity group's `seq` is
the core's shared counter (see hybridcloud.core.events).

Pushes are hints: the database is the truth and a client that sees a gap asks for a snapshot. Progress is throttled
(at most ~10 messages a second per migration on its page, one every 5 s on the activity group); state changes are
always sent. A progress message is compact: only what a step changes (the page merges it into what it has); a state
change carries every field.
"""

from __future__ import annotations

import logging
import random
import time
from typing import Any

from django.urls import reverse

from hybridcloud.core import events
from inventory.models import Workload
from migration.choices import ACTIVE_STATES

logger = logging.getLogger(__name__)

MIN_INTERVAL_S = 0.1
ACTIVITY_MIN_INTERVAL_S = 5.0
STATE_KINDS = frozenset({"created", "queued", "admitted", "phase", "completed", "failed", "cancelled"})
#: The fields a progress message (not a state change) carries: what a step changes.
STEP_FIELDS = (
    "id", "state", "phase", "percent", "bytes_sent", "memory_sent", "dirty_remaining", "rate_bps", "rate_limit",
    "rate_limit_sentence", "eta_s", "round", "rounds_count", "sim_elapsed_s",
)  # fmt: skip

_last_sent: dict[int, float] = {}
_last_activity: dict[int, float] = {}


def migration_group(migration_id: int) -> str:
    return f"migration.{migration_id}"


def link_step_group(link_key: str) -> str:
    """The group of every page of a migration on `link_key` (a group name allows no colon)."""
    return "migration.step." + link_key.replace(":", "-")


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


def progress_message(
    migration,
    event_kind: str,
    *,
    seq: int | None = None,
    state: str | None = None,
    new_rounds: list[dict] | None = None,
) -> dict[str, Any] | None:
    """The message a page receives for `migration` (None when a progress push is throttled: its seq was never
    used), and the activity panel's item when it is due (published with it)."""
    now = time.monotonic()
    is_change = event_kind in STATE_KINDS
    if not is_change and now - _last_sent.get(migration.pk, 0.0) < MIN_INTERVAL_S:
        return None
    _last_sent[migration.pk] = now
    fields = progress_fields(migration)
    if not is_change:
        fields = {name: fields[name] for name in STEP_FIELDS}
    message = {
        "type": "state" if is_change else "progress",
        "event": event_kind,
        **fields,
        "seq": migration.seq if seq is None else seq,
        "state": state or migration.state,
        "rounds": new_rounds or [],
        "sent_at": time.time(),
    }
    _publish_activity(migration, message, is_change=is_change, now=now)
    if message["state"] not in ACTIVE_STATES:
        _last_sent.pop(migration.pk, None)
        _last_activity.pop(migration.pk, None)
    return message


def _publish_activity(migration, message: dict, *, is_change: bool, now: float) -> None:
    if migration.pk not in _last_activity:
        # Spread the migrations' activity pushes over the interval: all at once would be a burst that every
        # client's socket pays for at the same moment.
        _last_activity[migration.pk] = now - random.uniform(0.0, ACTIVITY_MIN_INTERVAL_S)
    if is_change or now - _last_activity[migration.pk] >= ACTIVITY_MIN_INTERVAL_S:
        _last_activity[migration.pk] = now
        item = activity_item(migration)
        item["state"] = message["state"]
        events.publish_activity({"type": "migration", "item": item, "sent_at": message["sent_at"]})


def publish_progress(
    migration,
    event_kind: str,
    *,
    seq: int | None = None,
    state: str | None = None,
    new_rounds: list[dict] | None = None,
) -> bool:
    """Push `migration`'s progress to its page and to the activity panel, after commit; never raises.

    `seq`/`state` default to the row's. `new_rounds` are the rounds completed since the last push (the page's chart
    grows from them). Returns whether a message was queued for sending (throttled progress is dropped)."""
    try:
        message = progress_message(migration, event_kind, seq=seq, state=state, new_rounds=new_rounds)
        if message is None:
            return False
        events.publish(migration_group(migration.pk), "migration.progress", message)
        return True
    except Exception:  # noqa: BLE001 - pushes are hints: log and carry on
        logger.exception("progress push for migration %s failed", getattr(migration, "pk", None))
        return False


def publish_link_step(link_key: str, messages: dict[int, list[dict[str, Any]]]) -> None:
    """A driver step's messages, one list per migration (in seq order), to the pages of `link_key`'s migrations in
    ONE event, after commit: each page's consumer sends its migration's."""
    events.publish_keyed(link_step_group(link_key), "migration.step", {str(pk): ms for pk, ms in messages.items()})


def publish_workload_change(*, workload_id: int | None, action: str) -> None:
    """Tell the activity group that a workload was created, changed or removed (the workloads page refetches its
    table on it): `{"type": "workload", "seq", "state": action, "workload": {"id", "name", "kind"}}`, after commit.
    A removed workload is announced by id alone (its row is gone)."""
    try:
        row = Workload.objects.filter(pk=workload_id).values("id", "name", "kind").first() if workload_id else None
    except Exception:  # noqa: BLE001 - pushes are hints: the page refetches on the next one
        logger.exception("workload push for workload %s failed", workload_id)
        return
    workload = row or {"id": workload_id, "name": None, "kind": None}
    events.publish_activity({"type": "workload", "state": action, "workload": workload, "sent_at": time.time()})


def warm_up() -> None:
    """The core sender's warm-up, and the URLconf loaded (activity items carry a URL: ~0.4 s the first time), now:
    a worker process calls it when it starts, so that the first push is as fast as the others."""
    reverse("migration:detail", args=[1])
    events.warm_up()
