"""Writes: pre-check, create, reschedule, start, feed and cancel move groups. Every write is audited, and every
change is in the database before anything is announced."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from hybridcloud.core import events
from hybridcloud.core.audit import audit_record, model_snapshot
from hybridcloud.core.models import AuditVia
from hybridcloud.core.refusals import Refused
from inventory.models import Host, Site, Workload
from migration.choices import ACTIVE_STATES, MigrationPolicy
from migration.engine import DEFAULT_DOWNTIME_LIMIT_S
from migration.moves.choices import EDITABLE_STATES, GROUP_CANCELLABLE_STATES, MemberState, MoveGroupState, WindowClose
from migration.moves.models import MAX_CONCURRENCY, MAX_MEMBERS, MoveGroup, MoveGroupMember
from migration.prechecks import PrecheckContext, precheck_migration
from migration.services import MigrationRefused, migration_cancel, migration_start


class MoveGroupRefused(Refused):
    """The group cannot be created, changed or cancelled; `errors` lists why, one full sentence each (the API
    answers 400)."""


@dataclass
class GroupPrecheck:
    """The pre-checks of every workload of a wave at once. `errors` and `warnings` are grouped: one entry per
    sentence (the workload's own name taken out), with the workloads it applies to."""

    ready: list[Workload] = field(default_factory=list)
    blocked: list[Workload] = field(default_factory=list)
    with_warnings: list[Workload] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def movable(self) -> list[Workload]:
        """Those that may start (with warnings or not)."""
        return self.ready + self.with_warnings

    def as_dict(self) -> dict[str, Any]:
        return {
            "ready": [w.pk for w in self.ready],
            "with_warnings": [w.pk for w in self.with_warnings],
            "blocked": [w.pk for w in self.blocked],
            "errors": self.errors,
            "warnings": self.warnings,
        }


def _group_sentences(found: list[tuple[Workload, str]]) -> list[dict[str, Any]]:
    groups: dict[str, dict[str, Any]] = {}
    for workload, sentence in found:
        key = sentence.replace(workload.name, "{workload}")
        entry = groups.setdefault(key, {"message": key, "workloads": []})
        entry["workloads"].append({"id": workload.pk, "name": workload.name, "sentence": sentence})
    return sorted(groups.values(), key=lambda g: (-len(g["workloads"]), g["message"]))


def move_group_precheck(
    *,
    workloads: list[Workload],
    destination_host: Host | None = None,
    destination_site: Site | None = None,
    policy: str = MigrationPolicy.THROTTLE,
    max_downtime_s: float = DEFAULT_DOWNTIME_LIMIT_S,
    accept_readdressing: bool = False,
) -> GroupPrecheck:
    """Pre-check every workload's move (one shared context: each fact is read once). Each member is checked again
    when its turn comes (`migration_start`): the estate may change meanwhile."""
    result = GroupPrecheck()
    errors: list[tuple[Workload, str]] = []
    warnings: list[tuple[Workload, str]] = []
    context = PrecheckContext()
    for workload in workloads:
        check = precheck_migration(
            workload=workload,
            destination_host=destination_host,
            destination_site=None if destination_host else destination_site,
            accept_readdressing=accept_readdressing,
            max_downtime_s=max_downtime_s,
            policy=policy,
            context=context,
        )
        if check.errors:
            result.blocked.append(workload)
            errors.extend((workload, e) for e in check.errors)
        elif check.warnings:
            result.with_warnings.append(workload)
        else:
            result.ready.append(workload)
        warnings.extend((workload, w) for w in check.warnings)
    result.errors = _group_sentences(errors)
    result.warnings = _group_sentences(warnings)
    return result


def _announce(group_id: int) -> None:
    """After commit: the group's state on the activity channel (its page refreshes; the panel shows it while it is
    scheduled or running)."""

    def send() -> None:
        group = MoveGroup.objects.filter(pk=group_id).first()
        if group is not None:
            events.publish_activity(
                {
                    "type": "move_group",
                    "item": {
                        "key": f"move-group-{group.pk}",
                        "id": group.pk,
                        "title": f"Move group: {group.name}",
                        "url": group.get_absolute_url(),
                        "state": group.state,
                        "active": group.state == MoveGroupState.RUNNING,
                    },
                }
            )

    transaction.on_commit(send)


def _actor(by: AbstractBaseUser | None) -> AbstractBaseUser | None:
    return by if by is not None and by.is_authenticated else None


def _validate_group(group: MoveGroup) -> None:
    try:
        group.full_clean()
    except ValidationError as exc:
        raise MoveGroupRefused([m for messages in exc.message_dict.values() for m in messages]) from exc


def move_group_create(
    *,
    name: str,
    workloads: list[Workload],
    destination_host: Host | None = None,
    destination_site: Site | None = None,
    concurrency: int = 4,
    policy: str = MigrationPolicy.THROTTLE,
    max_downtime_s: float = DEFAULT_DOWNTIME_LIMIT_S,
    accept_readdressing: bool = False,
    override_reason: str = "",
    leave_out_blocked: bool = False,
    start_at: datetime | None = None,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    on_window_close: str = WindowClose.ABORT,
    by: AbstractBaseUser | None = None,
) -> MoveGroup:
    """Create a group of `workloads` (in that order) moving to one destination, `concurrency` at a time.

    Rules: every workload is pre-checked first; one that cannot move refuses the group unless `leave_out_blocked`
    (then it is left out, and recorded with why); warnings need one written `override_reason`. Without `start_at`
    (or with a time already past) the group starts now; otherwise it waits, editable and cancellable, for the beat.
    Nothing is created when it is refused."""
    workloads = list(dict.fromkeys(workloads))
    _check_request(
        workloads=workloads, policy=policy, concurrency=concurrency, on_window_close=on_window_close,
        has_destination=destination_host is not None or destination_site is not None,
    )  # fmt: skip
    override_reason = (override_reason or "").strip()
    check = move_group_precheck(
        workloads=workloads,
        destination_host=destination_host,
        destination_site=destination_site,
        policy=policy,
        max_downtime_s=float(max_downtime_s),
        accept_readdressing=accept_readdressing,
    )
    _check_outcome(check, workloads, leave_out_blocked=leave_out_blocked, override_reason=override_reason)
    now = timezone.now()
    blocked = {w.pk for w in check.blocked}
    group = MoveGroup(
        name=(name or "").strip() or f"Wave of {len(check.movable)} workloads",
        destination_host=destination_host, destination_site=None if destination_host else destination_site,
        concurrency=int(concurrency), policy=policy, max_downtime_s=float(max_downtime_s),
        accept_readdressing=accept_readdressing, override_reason=override_reason if check.warnings else "",
        warnings=check.warnings, left_out=[e for e in check.errors] if blocked else [],
        start_at=start_at if start_at is not None and start_at > now else now, window_start=window_start,
        window_end=window_end, on_window_close=on_window_close, created_by=_actor(by), created_at=now,
    )  # fmt: skip
    _validate_group(group)
    with transaction.atomic():
        _save_group(group, [w for w in workloads if w.pk not in blocked], left_out=len(blocked), by=by)
        if group.start_at <= now:
            move_group_start(group_id=group.pk, start_at=group.start_at)
    group.refresh_from_db()
    return group


def _check_request(
    *, workloads: list[Workload], policy: str, concurrency: int, on_window_close: str, has_destination: bool
) -> None:
    """What the request itself gets wrong, before any pre-check: every problem at once."""
    problems: list[str] = []
    if not workloads:
        problems.append("Select at least one workload to move.")
    if len(workloads) > MAX_MEMBERS:
        problems.append(f"{len(workloads):,} workloads selected: one group moves at most {MAX_MEMBERS:,}.")
    if policy not in MigrationPolicy.values:
        problems.append(f"Unknown policy {policy!r}: choose one of {', '.join(MigrationPolicy.values)}.")
    if not 1 <= int(concurrency) <= MAX_CONCURRENCY:
        problems.append(f"The concurrency cap must be between 1 and {MAX_CONCURRENCY}, not {concurrency}.")
    if on_window_close not in WindowClose.values:
        problems.append(f"Unknown choice {on_window_close!r} for a window that closes: abort or switchover.")
    if not has_destination:
        problems.append("Choose a destination: a host, or a site.")
    if problems:
        raise MoveGroupRefused(problems)


def _check_outcome(check, workloads: list[Workload], *, leave_out_blocked: bool, override_reason: str) -> None:
    """The group's pre-checks must let it go: blocked workloads left out (or none), something left to move, and
    one written reason for the warnings."""
    problems: list[str] = []
    if check.blocked and not leave_out_blocked:
        problems.append(
            f"{len(check.blocked)} of the {len(workloads)} workloads cannot move (see the errors); leave them out "
            "or change the destination."
        )
    if not check.movable:
        problems.append("None of the selected workloads can move to this destination.")
    if check.warnings and not override_reason:
        problems.append(
            f"{len(check.with_warnings)} workloads move with warnings: write one reason for going ahead anyway."
        )
    if problems:
        raise MoveGroupRefused(problems)


def _save_group(group: MoveGroup, members: list[Workload], *, left_out: int, by: AbstractBaseUser | None) -> None:
    """The group, its members in order and its audit record (inside the caller's transaction)."""
    group.save()
    MoveGroupMember.objects.bulk_create(
        [MoveGroupMember(group=group, workload=w, position=n) for n, w in enumerate(members)]
    )
    audit_record(
        action="move_group.create",
        target=group,
        actor=_actor(by),
        after={**model_snapshot(group), "members": [w.pk for w in members]},
        message=f"{group.name}: {len(members)} workloads to {group.destination_name}, "
        f"{group.concurrency} at a time" + (f"; {left_out} left out" if left_out else "") + ".",
    )


def move_group_reschedule(
    *,
    group: MoveGroup,
    start_at: datetime,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    on_window_close: str | None = None,
    concurrency: int | None = None,
    by: AbstractBaseUser | None = None,
) -> MoveGroup:
    """Change a scheduled group's start, window, window choice or cap; refused once it has started (the write is
    conditional on the group still being scheduled, so a start that got there first wins)."""
    with transaction.atomic():
        current = MoveGroup.objects.select_for_update().get(pk=group.pk)
        if current.state not in EDITABLE_STATES:
            raise MoveGroupRefused(
                [f"Move group #{current.pk} is {current.get_state_display().lower()}: it can no longer be edited."]
            )
        before = model_snapshot(current)
        current.start_at = start_at
        current.window_start, current.window_end = window_start, window_end
        if on_window_close is not None:
            if on_window_close not in WindowClose.values:
                raise MoveGroupRefused([f"Unknown choice {on_window_close!r} for a window that closes."])
            current.on_window_close = on_window_close
        if concurrency is not None:
            current.concurrency = concurrency
        if current.start_at < timezone.now():
            raise MoveGroupRefused(["The new start time is in the past: choose a time to come."])
        _validate_group(current)
        fields = ["start_at", "window_start", "window_end", "on_window_close", "concurrency"]
        applied = MoveGroup.objects.filter(pk=current.pk, state=MoveGroupState.SCHEDULED).update(
            **{f: getattr(current, f) for f in fields}
        )
        if not applied:
            raise MoveGroupRefused([f"Move group #{current.pk} started meanwhile: it can no longer be edited."])
        audit_record(
            action="move_group.reschedule",
            target=current,
            actor=_actor(by),
            before=before,
            after=model_snapshot(current),
            message=f"{current.name}: starts {timezone.localtime(current.start_at):%Y-%m-%d %H:%M}.",
        )
    return current


def move_group_start(*, group_id: int, start_at: datetime) -> bool:
    """Start the group scheduled for `start_at`, exactly once: a conditional update from `scheduled` (at that very
    start time: a reschedule in between wins) to `running`, with its idempotency key `move-group:<id>:<start>`
    (unique). A second call, a duplicate beat or a redelivered task, changes nothing. Returns whether it started."""
    key = f"move-group:{group_id}:{start_at.isoformat()}"
    now = timezone.now()
    with transaction.atomic():
        applied = MoveGroup.objects.filter(pk=group_id, state=MoveGroupState.SCHEDULED, start_at=start_at).update(
            state=MoveGroupState.RUNNING, start_key=key, started_at=now
        )
        if not applied:
            return False
        group = MoveGroup.objects.get(pk=group_id)
        _announce(group_id)
        audit_record(
            action="move_group.start",
            target=group,
            via=AuditVia.SCHEDULE if group.created_at < start_at else None,
            after={"state": group.state, "start_key": key},
            message=f"{group.name} started ({group.members.count()} workloads, {group.concurrency} at a time).",
        )
        move_group_feed(group_id=group_id)
    return True


def move_group_feed(*, group_id: int) -> list[int]:
    """Start the group's next members, in order, while fewer than `concurrency` of its migrations are active; a
    member refused at its turn is kept with why and the next one tried. Ends the group once every member has
    ended. The group's row is locked: two feeds at once start nothing twice. Returns the migrations started."""
    started: list[int] = []
    with transaction.atomic():
        group = (
            MoveGroup.objects.select_for_update(of=("self",))
            .select_related("destination_host", "destination_site", "created_by")
            .filter(pk=group_id, state=MoveGroupState.RUNNING)
            .first()
        )
        if group is None:
            return started
        active = MoveGroupMember.objects.filter(group=group, migration__state__in=ACTIVE_STATES).count()
        pending = list(
            MoveGroupMember.objects.filter(group=group, state=MemberState.PENDING)
            .select_related("workload")
            .order_by("position")
        )
        for member in pending:
            if active >= group.concurrency:
                break
            try:
                migration = migration_start(
                    workload=member.workload,
                    destination_host=group.destination_host,
                    destination_site=group.destination_site,
                    requested_by=group.created_by,
                    policy=group.policy,
                    max_downtime_s=group.max_downtime_s,
                    override_reason=group.override_reason,
                    accept_readdressing=group.accept_readdressing,
                    reason=f"Move group #{group.pk}: {group.name}",
                )
            except MigrationRefused as exc:
                member.state, member.error = MemberState.REFUSED, " ".join(exc.errors)
                member.save(update_fields=["state", "error"])
                continue
            member.state, member.migration = MemberState.STARTED, migration
            member.save(update_fields=["state", "migration"])
            started.append(migration.pk)
            active += 1
        if active == 0 and not MoveGroupMember.objects.filter(group=group, state=MemberState.PENDING).exists():
            MoveGroup.objects.filter(pk=group.pk, state=MoveGroupState.RUNNING).update(
                state=MoveGroupState.COMPLETED, finished_at=timezone.now()
            )
            _announce(group.pk)
            audit_record(
                action="move_group.complete",
                target=group,
                after={"state": MoveGroupState.COMPLETED},
                message=f"{group.name}: every member has ended.",
            )
    return started


def move_groups_start_due(*, now: datetime | None = None) -> list[int]:
    """The beat's work: start every scheduled group whose time has come (each exactly once, see
    `move_group_start`), then feed every running group. Returns the groups started."""
    now = now or timezone.now()
    started = [
        pk
        for pk, start_at in MoveGroup.objects.filter(state=MoveGroupState.SCHEDULED, start_at__lte=now).values_list(
            "pk", "start_at"
        )
        if move_group_start(group_id=pk, start_at=start_at)
    ]
    for pk in MoveGroup.objects.filter(state=MoveGroupState.RUNNING).values_list("pk", flat=True):
        move_group_feed(group_id=pk)
    return started


def move_group_cancel(*, group: MoveGroup, by: AbstractBaseUser | None = None) -> MoveGroup:
    """Cancel the whole group: members not started are cancelled, migrations before their switchover are cancelled
    (their workloads stay on their sources); a migration already switching over finishes. Cancelling twice is a
    no-op; a group that has ended is refused."""
    with transaction.atomic():
        current = MoveGroup.objects.select_for_update().get(pk=group.pk)
        if current.state == MoveGroupState.CANCELLED:
            return current
        if current.state not in GROUP_CANCELLABLE_STATES:
            raise MoveGroupRefused(
                [f"Move group #{current.pk} is {current.get_state_display().lower()}: nothing is left to cancel."]
            )
        MoveGroup.objects.filter(pk=current.pk).update(state=MoveGroupState.CANCELLED, finished_at=timezone.now())
        _announce(current.pk)
        pending = MoveGroupMember.objects.filter(group=current, state=MemberState.PENDING).update(
            state=MemberState.CANCELLED
        )
        cancelled, finishing = 0, []
        for member in MoveGroupMember.objects.filter(group=current, migration__state__in=ACTIVE_STATES).select_related(
            "migration__workload"
        ):
            try:
                migration_cancel(migration=member.migration, by=by)
                cancelled += 1
            except MigrationRefused:
                finishing.append(member.migration.workload.name)
        current.refresh_from_db()
        audit_record(
            action="move_group.cancel",
            target=current,
            actor=_actor(by),
            after={"state": current.state, "members_cancelled": pending, "migrations_cancelled": cancelled},
            message=f"{current.name} cancelled: {pending} not started, {cancelled} migrations stopped"
            + (f"; already switching over, finishing: {', '.join(finishing)}" if finishing else "")
            + ".",
        )
    return current
