"""Reads: migrations for the pages, the API and the websocket snapshots."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils import timezone

from hybridcloud.core.events import activity_seq
from inventory.models import CloudLink, Host
from inventory.usage import Reservation, running_filter
from migration.choices import ACTIVE_STATES, PHASE_ORDER, RUNNING_STATES, MigrationState
from migration.models import Migration
from migration.prechecks import link_key_limit
from migration.progress import activity_item, progress_fields


def incoming_reservations(hosts=None) -> list[Reservation]:
    """What live moves hold on their destinations (registered with `inventory.usage`): the memory and vCPUs of
    every powered-on workload with a migration queued or running towards `hosts` (ids or a Host queryset; None:
    every host), one query."""
    rows = Migration.objects.active().filter(running_filter("workload__"))
    if hosts is not None:
        rows = rows.filter(destination_host__in=hosts)
    return [
        Reservation(host, site, workload, memory, vcpus, f"migration #{pk}")
        for pk, host, site, workload, memory, vcpus in rows.values_list(
            "pk", "destination_host_id", "destination_host__cluster__site_id", "workload_id",
            "workload__memory_bytes", "workload__vcpus",
        )
    ]  # fmt: skip


def migration_queryset() -> QuerySet[Migration]:
    return Migration.objects.select_related(
        "workload",
        "source_host__cluster__site",
        "destination_host__cluster__site",
        "requested_by",
        "cloud_link__site_a",
        "cloud_link__site_b",
    )


def migration_list() -> QuerySet[Migration]:
    """Active migrations first (newest first), then history (newest first); `MigrationFilterSet` filters it."""
    qs = migration_queryset().annotate(
        active_first=Case(When(state__in=ACTIVE_STATES, then=Value(0)), default=Value(1), output_field=IntegerField())
    )
    return qs.order_by("active_first", "-created_at", "-pk")


def migration_timeline(migration: Migration) -> list[dict[str, Any]]:
    """The phase timeline: each phase with when it started and whether it is done, current or to come."""
    starts = {
        "queued": migration.created_at,
        "prechecks": migration.created_at,
        "precopy": migration.precopy_started_at,
        "switchover": migration.switchover_started_at,
        "completed": migration.finished_at if migration.state == MigrationState.COMPLETED else None,
    }
    current = migration.state
    order = list(PHASE_ORDER)
    index = order.index(current) if current in order else None
    phases = []
    for i, name in enumerate(order):
        if (
            name == "queued"
            and migration.state != MigrationState.QUEUED
            and not migration.events.filter(kind="queued").exists()
        ):
            continue
        if index is not None:
            status = "done" if i < index or current == "completed" else ("current" if i == index else "todo")
        else:  # failed or cancelled: what started is done, the rest never happened
            status = "done" if starts.get(name) else "skipped"
        at = starts.get(name)
        phases.append(
            {
                "name": name,
                "label": MigrationState(name).label,
                "status": status,
                "at": at.isoformat() if at else None,
            }
        )
    if current in ("failed", "cancelled"):
        phases.append(
            {
                "name": current,
                "label": MigrationState(current).label,
                "status": "current",
                "at": migration.finished_at.isoformat() if migration.finished_at else None,
            }
        )
    return phases


def migration_snapshot(migration: Migration) -> dict[str, Any]:
    """Everything the live page needs, read from the database (the truth): the websocket's first message."""
    workload = migration.workload
    return {
        "type": "snapshot",
        **progress_fields(migration),
        "seq": migration.seq,
        "state": migration.state,
        "kind": migration.kind,
        "policy": migration.policy,
        "max_downtime_s": migration.max_downtime_s,
        "simulation_speed": migration.simulation_speed,
        "workload": {"id": workload.pk, "name": workload.name, "ip_address": workload.ip_address},
        "source_host": migration.source_host.name,
        "destination_host": migration.destination_host.name,
        "prediction": migration.prediction,
        "cancellable": migration.is_cancellable,
        "timings": {
            "created_at": migration.created_at.isoformat(),
            "started_at": migration.started_at.isoformat() if migration.started_at else None,
            "precopy_started_at": migration.precopy_started_at.isoformat() if migration.precopy_started_at else None,
            "switchover_started_at": migration.switchover_started_at.isoformat()
            if migration.switchover_started_at
            else None,
            "finished_at": migration.finished_at.isoformat() if migration.finished_at else None,
        },
        "timeline": migration_timeline(migration),
        "rounds": [r.as_dict() for r in migration.rounds.all()],
        "events": [e.as_dict() for e in migration.events.all()],
    }


#: Higher layers add their own items to the activity snapshot (the alarms app: its active alarms), as callables
#: returning activity items (see hybridcloud.core.events.publish_activity); registered in their AppConfig.ready().
ACTIVITY_SNAPSHOT_SOURCES: list[Callable[[], list[dict[str, Any]]]] = []


def activity_snapshot() -> dict[str, Any]:
    """Active migrations for the activity panel, then the items of ACTIVITY_SNAPSHOT_SOURCES; `seq` is the activity
    counter read before the rows."""
    seq = activity_seq()
    active = [
        activity_item(m)
        for m in Migration.objects.filter(state__in=ACTIVE_STATES)
        .select_related("workload", "destination_host")
        .order_by("created_at")[:200]
    ]
    for source in ACTIVITY_SNAPSHOT_SOURCES:
        active.extend(source())
    return {"type": "snapshot", "seq": seq, "state": "connected", "active": active}


#: The calibration reads at most this many of the latest completed migrations.
CALIBRATION_WINDOW = 5_000


def migration_calibration(*, recent: int = 50) -> dict[str, Any]:
    """How the predictions made before each start compared with what happened, over the latest
    `CALIBRATION_WINDOW` completed migrations that carried a predicted range: how often the actual total time fell
    inside p10-p90, the error distribution ((actual - predicted) / predicted, signed) with its median absolute
    value, the median width of the range ((p90 - p10) / predicted: a range that is right only by being wide is no
    good), and the `recent` latest."""
    rows = list(
        Migration.objects.filter(
            state=MigrationState.COMPLETED,
            total_time_s__isnull=False,
            predicted_total_time_s__gt=0,
            predicted_p10_s__isnull=False,
            predicted_p90_s__isnull=False,
        )
        .order_by("-finished_at", "-pk")
        .values_list(
            "pk", "workload__name", "finished_at", "predicted_total_time_s", "predicted_p10_s", "predicted_p90_s",
            "total_time_s", "rate_limit",
        )[:CALIBRATION_WINDOW]
    )  # fmt: skip
    errors = [(actual - best) / best for _, _, _, best, _, _, actual, _ in rows]
    inside = sum(low <= actual <= high for _, _, _, _, low, high, actual, _ in rows)
    widths = [(high - low) / best for _, _, _, best, low, high, _, _ in rows]

    def median(values: list[float]) -> float | None:
        if not values:
            return None
        xs = sorted(values)
        mid = len(xs) // 2
        return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2

    return {
        "count": len(rows),
        "inside": inside,
        "inside_share": inside / len(rows) if rows else None,
        "median_abs_error": median([abs(e) for e in errors]),
        "median_error": median(errors),
        "median_width": median(widths),
        "errors": errors,
        "recent": [
            {
                "id": pk,
                "workload": name,
                "finished_at": finished,
                "predicted_s": best,
                "p10_s": low,
                "p90_s": high,
                "actual_s": actual,
                "error": (actual - best) / best,
                "inside": low <= actual <= high,
                "limit": limit,
            }
            for pk, name, finished, best, low, high, actual, limit in rows[:recent]
        ],  # fmt: skip
    }


@dataclass(frozen=True)
class QueueSpot:
    """A queued migration's place: 1 = next on its link, and when it should start (best estimate, and late: p90)."""

    position: int
    waiting: int
    slots: int
    estimated_start_at: datetime
    latest_start_at: datetime


def migration_queue(*, now: datetime | None = None) -> dict[int, QueueSpot]:
    """Every queued migration's place in its link's queue and its estimated start, by id.

    Rules: a link key (a WAN link, or a source host's NIC inside a site) runs at most `link_key_limit` moves at once,
    first come first served (request time, then id), as admission does. Each running move frees its slot after its
    predicted remaining time (predicted total less simulated time so far, at its simulation speed); each queued one
    takes the first slot to free and holds it for its own predicted total time. The late estimate does the same with
    the predictions' p90. Hosts' own limits can hold a move longer: the estimate is the earliest the link allows.
    Three queries, whatever the queue's length."""
    now = now or timezone.now()
    rows = list(
        Migration.objects.filter(state__in=ACTIVE_STATES)
        .order_by("created_at", "pk")
        .values_list(
            "pk", "state", "link_key", "cloud_link_id", "source_host_id", "predicted_total_time_s", "predicted_p90_s",
            "sim_elapsed_s", "simulation_speed",
        )
    )  # fmt: skip
    queued_keys = {row[2] for row in rows if row[1] == MigrationState.QUEUED}
    if not queued_keys:
        return {}
    rows = [row for row in rows if row[2] in queued_keys]
    links = {link.pk: link for link in CloudLink.objects.filter(pk__in={row[3] for row in rows if row[3]})}
    hosts = {h.pk: h for h in Host.objects.filter(pk__in={row[4] for row in rows if not row[3]})}
    by_key: dict[str, list[tuple]] = {}
    for row in rows:
        by_key.setdefault(row[2], []).append(row)
    spots: dict[int, QueueSpot] = {}
    for key_rows in by_key.values():
        first = key_rows[0]
        link, host = links.get(first[3]), hosts.get(first[4])
        if link is None and host is None:
            continue  # the link is gone: admission fails these moves
        slots = max(1, link_key_limit(source_host=host, cloud_link=link))
        running = [r for r in key_rows if r[1] in RUNNING_STATES]
        queued = [r for r in key_rows if r[1] == MigrationState.QUEUED]
        starts: dict[int, list[float]] = {}
        for column in (5, 6):  # best estimate, then p90
            free = [max(0.0, (r[column] or 0.0) - r[7]) / r[8] for r in running]
            free += [0.0] * max(0, slots - len(free))
            heapq.heapify(free)
            for r in queued:
                start = 0.0
                while len(free) >= slots:  # the time the running count falls below the limit
                    start = heapq.heappop(free)
                starts.setdefault(r[0], []).append(start)
                heapq.heappush(free, start + (r[column] or 0.0) / r[8])
        for position, r in enumerate(queued, start=1):
            best, latest = starts[r[0]]
            spots[r[0]] = QueueSpot(
                position=position,
                waiting=len(queued),
                slots=slots,
                estimated_start_at=now + timedelta(seconds=best),
                latest_start_at=now + timedelta(seconds=max(best, latest)),
            )
    return spots
