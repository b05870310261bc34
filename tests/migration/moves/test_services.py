"""Move groups' services and the driver's switchover gate, in one process (the driver stepped by hand)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from hybridcloud.core.models import AuditEntry
from migration.choices import ACTIVE_STATES, MigrationState
from migration.models import Migration
from migration.moves.choices import MemberState, MoveGroupState, WindowClose
from migration.moves.models import MoveGroup
from migration.moves.selectors import move_group_progress
from migration.moves.services import (
    MoveGroupRefused,
    move_group_cancel,
    move_group_create,
    move_group_feed,
    move_group_precheck,
    move_group_reschedule,
    move_groups_start_due,
)
from tests import factories
from tests.migration.test_services import drive

pytestmark = pytest.mark.django_db


@pytest.fixture
def topo():
    return factories.topology()


def vms(topo, n: int, **kw):
    return [factories.workload(topo.ca_hosts[0], memory_gib=1, segment=topo.stretched, **kw) for _ in range(n)]


def test_precheck_groups_errors_and_warnings_over_every_workload(topo):
    ok = vms(topo, 3)
    big = factories.workload(topo.ca_hosts[0], vcpus=64, segment=topo.stretched, name="huge-db")
    local = factories.workload(topo.ca_hosts[0], segment=topo.ca_local, name="ca-only")
    check = move_group_precheck(workloads=[*ok, big, local], destination_host=topo.va_hosts[0])
    assert {w.pk for w in check.blocked} == {big.pk, local.pk}
    assert len(check.with_warnings) == 3  # the stretched VMs cross sites: their disk moves too (a warning)
    # One entry per sentence, with the workloads it applies to: the three VMs share their warning.
    assert any(len(g["workloads"]) == 3 for g in check.warnings)
    assert any(w["name"] == "huge-db" for g in check.errors for w in g["workloads"])


def test_create_refuses_blocked_and_unexplained_warnings_and_creates_nothing(topo, operator):
    ok = vms(topo, 2)
    local = factories.workload(topo.ca_hosts[0], segment=topo.ca_local, name="ca-only")
    with pytest.raises(MoveGroupRefused) as refused:
        move_group_create(name="w", workloads=[*ok, local], destination_host=topo.va_hosts[0], by=operator)
    text = " ".join(refused.value.errors)
    assert "1 of the 3 workloads cannot move" in text and "write one reason" in text
    with pytest.raises(MoveGroupRefused, match="concurrency cap must be between 1 and 50"):
        move_group_create(name="w", workloads=ok, destination_host=topo.va_hosts[0], concurrency=0)
    assert MoveGroup.objects.count() == 0 and Migration.objects.count() == 0
    group = move_group_create(
        name="Wave 1", workloads=[*ok, local], destination_host=topo.va_hosts[0], leave_out_blocked=True,
        override_reason="DC exit, disks move too.", concurrency=1, by=operator,
    )  # fmt: skip
    assert group.members.count() == 2 and group.left_out
    assert group.override_reason == "DC exit, disks move too."
    assert Migration.objects.get().override_reason == "DC exit, disks move too."
    assert AuditEntry.objects.filter(action="move_group.create", actor=operator).count() == 1


def test_group_feeds_members_under_its_cap_in_order_and_ends(topo, operator):
    group = move_group_create(name="w", workloads=vms(topo, 5), destination_host=topo.ca_hosts[1], concurrency=2)
    assert group.state == MoveGroupState.RUNNING
    members = list(group.members.order_by("position"))
    assert [m.state for m in members] == ["started", "started", "pending", "pending", "pending"]
    assert move_group_feed(group_id=group.pk) == []  # two active: the cap binds, a second feed starts nothing
    link = members[0].migration.link_key
    for _ in range(40):
        drive(link, steps=5)
        move_group_feed(group_id=group.pk)
        assert Migration.objects.filter(state__in=ACTIVE_STATES).count() <= 2
        group.refresh_from_db()
        if group.state == MoveGroupState.COMPLETED:
            break
    assert group.state == MoveGroupState.COMPLETED
    assert list(Migration.objects.order_by("pk").values_list("workload_id", flat=True)) == [
        m.workload_id for m in members
    ]
    assert set(Migration.objects.values_list("state", flat=True)) == {MigrationState.COMPLETED}


def test_scheduled_group_starts_once_at_its_time_and_is_editable_until_then(topo, operator):
    soon = timezone.now() + timedelta(minutes=10)
    group = move_group_create(
        name="Night wave", workloads=vms(topo, 3), destination_host=topo.ca_hosts[1], start_at=soon, by=operator
    )
    assert group.state == MoveGroupState.SCHEDULED and Migration.objects.count() == 0
    assert move_groups_start_due() == []
    later = soon + timedelta(minutes=5)
    move_group_reschedule(group=group, start_at=later, by=operator)
    assert move_groups_start_due(now=soon + timedelta(seconds=1)) == []  # the old time no longer starts it
    assert move_groups_start_due(now=later) == [group.pk]
    assert move_groups_start_due(now=later) == []  # the beat fired twice: started once
    group.refresh_from_db()
    assert group.state == MoveGroupState.RUNNING and group.start_key == f"move-group:{group.pk}:{later.isoformat()}"
    assert Migration.objects.count() == 3
    assert AuditEntry.objects.filter(action="move_group.start").count() == 1
    with pytest.raises(MoveGroupRefused, match="can no longer be edited"):
        move_group_reschedule(group=group, start_at=later + timedelta(hours=1), by=operator)


def test_switchover_waits_for_the_window_while_precopy_keeps_syncing(topo):
    now = timezone.now()
    group = move_group_create(
        name="w", workloads=vms(topo, 1), destination_host=topo.ca_hosts[1],
        window_start=now + timedelta(hours=1), window_end=now + timedelta(hours=2),
    )  # fmt: skip
    migration = group.members.get().migration
    drive(migration.link_key, steps=8)  # 8,000 simulated seconds (the tests run 1,000x): far beyond its ~10 s
    migration.refresh_from_db()
    assert migration.state == MigrationState.PRECOPY
    assert migration.engine_state["hold"] is True
    rounds = migration.rounds_count
    assert rounds > 5
    drive(migration.link_key, steps=3)
    migration.refresh_from_db()
    assert migration.rounds_count > rounds and migration.state == MigrationState.PRECOPY
    MoveGroup.objects.filter(pk=group.pk).update(window_start=timezone.now() - timedelta(seconds=1))
    drive(migration.link_key, steps=60)
    migration.refresh_from_db()
    assert migration.state == MigrationState.COMPLETED and migration.outcome == "converged"


@pytest.mark.parametrize("choice", [WindowClose.ABORT, WindowClose.SWITCHOVER])
def test_a_window_that_closes_before_switchover_aborts_or_goes_ahead_as_chosen(topo, choice):
    now = timezone.now()
    group = move_group_create(
        name="w", workloads=vms(topo, 1), destination_host=topo.ca_hosts[1], on_window_close=choice,
        window_start=now + timedelta(hours=1), window_end=now + timedelta(hours=2),
    )  # fmt: skip
    migration = group.members.get().migration
    drive(migration.link_key, steps=3)
    MoveGroup.objects.filter(pk=group.pk).update(
        window_start=timezone.now() - timedelta(hours=2), window_end=timezone.now() - timedelta(seconds=1)
    )
    drive(migration.link_key, steps=60)
    migration.refresh_from_db()
    if choice == WindowClose.ABORT:
        assert migration.state == MigrationState.FAILED
        assert "maintenance window" in migration.outcome_reason and "stays on its source" in migration.outcome_reason
        assert migration.workload.host_id == topo.ca_hosts[0].pk
    else:
        assert migration.state == MigrationState.COMPLETED


def test_cancel_stops_the_whole_group(topo, operator):
    group = move_group_create(name="w", workloads=vms(topo, 4), destination_host=topo.ca_hosts[1], concurrency=2)
    group = move_group_cancel(group=group, by=operator)
    assert group.state == MoveGroupState.CANCELLED
    assert sorted(group.members.values_list("state", flat=True)) == [
        MemberState.CANCELLED, MemberState.CANCELLED, MemberState.STARTED, MemberState.STARTED,
    ]  # fmt: skip
    assert set(Migration.objects.values_list("state", flat=True)) == {MigrationState.CANCELLED}
    progress = move_group_progress(group=group)
    assert progress["percent"] == 0.0 and progress["counts"] == {"cancelled": 4}  # nothing moved: not 100 %
    assert move_group_cancel(group=group, by=operator).state == MoveGroupState.CANCELLED  # twice: a no-op
    assert move_group_feed(group_id=group.pk) == []
    assert AuditEntry.objects.filter(action="move_group.cancel").count() == 1
