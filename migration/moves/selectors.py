"""Reads: move groups, their progress, and the switchover verdict the driver asks for at every step."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from django.db.models import Count, QuerySet
from django.http import QueryDict
from django.utils import timezone

from inventory.filtersets import WorkloadFilterSet
from inventory.models import Workload
from migration.choices import ACTIVE_STATES, MigrationState
from migration.models import Migration
from migration.moves.choices import MoveGroupState, WindowClose
from migration.moves.models import MAX_MEMBERS, MoveGroup, MoveGroupMember


def switchover_verdicts(migrations: list[Migration], now: datetime) -> dict[int, str | None]:
    """The driver's switchover gate (registered in `MovesConfig.ready`), for the running migrations of one step.

    Rules: a member of a group whose maintenance window has not opened is held (None: pre-copy keeps syncing, no
    switchover); a member still before its switchover when the window has closed is stopped (a sentence: the
    driver fails it and the workload stays on its source) when the group chose to abort, and left to switch over
    when it chose to go ahead. Migrations of no group are not in the answer. One query per step."""
    ids = [m.pk for m in migrations if m.state != MigrationState.SWITCHOVER]
    if not ids:
        return {}
    verdicts: dict[int, str | None] = {}
    rows = MoveGroupMember.objects.filter(migration_id__in=ids, group__window_start__isnull=False).values_list(
        "migration_id", "group_id", "group__window_start", "group__window_end", "group__on_window_close"
    )
    for migration_id, group_id, start, end, on_close in rows:
        if now < start:
            verdicts[migration_id] = None
        elif now >= end and on_close == WindowClose.ABORT:
            verdicts[migration_id] = (
                f"The maintenance window of move group #{group_id} closed at {timezone.localtime(end):%Y-%m-%d %H:%M} "
                "before this migration's switchover; as chosen for the group, it is aborted and the workload stays on "
                "its source."
            )
    return verdicts


def move_group_list(*, state: str = "") -> QuerySet[MoveGroup]:
    """Groups by start time (the calendar's order), with their member counts annotated."""
    qs = MoveGroup.objects.select_related("destination_site", "destination_host", "created_by").annotate(
        member_count=Count("members")
    )
    if state:
        qs = qs.filter(state=state)
    return qs.order_by("start_at", "pk")


def move_group_progress(*, group: MoveGroup) -> dict[str, Any]:
    """The group's members as the group page and the API show them, with the group's progress: the mean of its
    members' percentages: only a completed move counts 100 % (a failed, cancelled or refused one 0 %: a group with
    a failure never shows 100 %); the counts say which ended how."""
    members = list(
        group.members.select_related("workload", "migration__destination_host", "migration__workload").order_by(
            "position"
        )
    )
    now = timezone.now()
    held = group.switchover_held_at(now)
    rows = []
    counts: Counter[str] = Counter()
    total = 0.0
    for member in members:
        m = member.migration
        if m is not None:
            status = m.state
            percent = m.percent if m.state in ACTIVE_STATES or m.state == MigrationState.COMPLETED else 0.0
        else:
            status = member.state
            percent = 0.0
        counts[status] += 1
        total += percent
        rows.append(
            {
                "member_id": member.pk,
                "workload_id": member.workload_id,
                "workload": member.workload.name,
                "state": status,
                "member_state": member.state,
                "percent": percent,
                "migration_id": m.pk if m else None,
                "migration_url": m.get_absolute_url() if m else None,
                "destination_host": m.destination_host.name if m else "",
                "held": bool(m is not None and held and m.state in (MigrationState.PRECHECKS, MigrationState.PRECOPY)),
                "reason": member.error or (m.outcome_reason if m else ""),
            }
        )
    return {
        "id": group.pk,
        "state": group.state,
        "percent": round(total / len(members), 1) if members else 0.0,
        "counts": dict(counts),
        "held": held and group.state == MoveGroupState.RUNNING,
        "members": rows,
    }


def selected_workloads(*, ids: list[int] | None = None, query: str | None = None) -> tuple[list, list[str]]:
    """The workloads a "Move selected" chose: the ticked `ids`, or every workload matching the workloads table's
    filter `query` (its query string: the same filterset as the page and the API). Returns them in the table's
    order and the problems found (an unknown id, a filter the filterset refuses), as sentences."""
    problems: list[str] = []
    base = Workload.objects.select_related("host__cluster__site", "segment", "datastore")
    if query is not None:
        params = QueryDict(query.lstrip("?"), mutable=True)
        params.pop("page", None)
        filterset = WorkloadFilterSet(params, queryset=base.order_by("name"))
        if not filterset.is_valid():
            for field_name, messages in filterset.errors.items():
                problems.extend(f"Filter {field_name}: {m}" for m in messages)
            return [], problems
        workloads = list(filterset.qs[: MAX_MEMBERS + 1])
        return workloads, problems
    ids = list(dict.fromkeys(ids or []))
    found = {w.pk: w for w in base.filter(pk__in=ids)}
    missing = [str(pk) for pk in ids if pk not in found]
    if missing:
        problems.append(f"No workload with id {', '.join(missing)}.")
    return [found[pk] for pk in ids if pk in found], problems
