"""With a real Celery worker and Redis: a scheduled group starts once at its time (its beat task fired twice, at
once, starts nothing twice), and a held switchover waits for its maintenance window while pre-copy keeps syncing."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from hybridcloud.core.models import AuditEntry
from migration.choices import MigrationState
from migration.models import Migration
from migration.moves.choices import MoveGroupState
from migration.moves.models import MoveGroup
from migration.moves.selectors import move_group_progress
from migration.moves.services import move_group_create
from migration.moves.tasks import move_groups_tick
from tests import factories

pytestmark = pytest.mark.integration


def wait_for(predicate, timeout=30.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s")


def test_a_scheduled_group_starts_once_and_its_switchovers_wait_for_the_window(celery_worker, operator):
    topo = factories.topology()
    vms = [factories.workload(topo.ca_hosts[0], memory_gib=2, segment=topo.stretched) for _ in range(2)]
    now = timezone.now()
    # The window is far enough ahead that the hold is seen however slow the machine; the test opens it below.
    start_at, window_start = now + timedelta(seconds=2), now + timedelta(minutes=10)
    group = move_group_create(
        name="Night wave", workloads=vms, destination_host=topo.ca_hosts[1], concurrency=2, start_at=start_at,
        window_start=window_start, window_end=now + timedelta(minutes=20), by=operator,
    )  # fmt: skip
    assert group.state == MoveGroupState.SCHEDULED
    move_groups_tick.delay()  # before its time: nothing starts
    time.sleep(1.0)
    assert Migration.objects.count() == 0
    wait_for(lambda: timezone.now() >= start_at, timeout=5)
    # The beat fires twice at once (two beats, or a redelivery): two worker processes take them side by side.
    move_groups_tick.delay()
    move_groups_tick.delay()
    wait_for(lambda: Migration.objects.count() == 2, timeout=15)
    time.sleep(1.0)
    assert Migration.objects.count() == 2
    assert sorted(Migration.objects.values_list("workload_id", flat=True)) == sorted(w.pk for w in vms)
    group.refresh_from_db()
    assert group.state == MoveGroupState.RUNNING and group.start_key
    assert AuditEntry.objects.filter(action="move_group.start", object_id=str(group.pk)).count() == 1
    # Held: pre-copy runs and keeps syncing (rounds go on), no switchover before the window opens.
    seen_rounds = wait_for(
        lambda: min(Migration.objects.values_list("rounds_count", flat=True)) >= 2 and True, timeout=15
    )
    assert seen_rounds
    # The group's page (its API) says so: held, pre-copy syncing.
    progress = move_group_progress(group=MoveGroup.objects.get(pk=group.pk))
    assert progress["held"] and all(row["held"] for row in progress["members"])
    held_until = time.monotonic() + 3.0  # several steps (at least one a second), all held
    while time.monotonic() < held_until:
        states = set(Migration.objects.values_list("state", flat=True))
        assert states <= {MigrationState.PRECHECKS, MigrationState.PRECOPY}, states
        time.sleep(0.2)
    before = dict(Migration.objects.values_list("pk", "rounds_count"))
    assert set(Migration.objects.values_list("state", flat=True)) == {MigrationState.PRECOPY}  # still held
    # The window opens (its time comes: the gate reads it at every step): they switch over and complete.
    window_start = timezone.now()
    MoveGroup.objects.filter(pk=group.pk).update(window_start=window_start)
    done = wait_for(
        lambda: all(m.state == MigrationState.COMPLETED for m in Migration.objects.all()) and Migration.objects.all(),
        timeout=60,
    )
    for migration in done:
        assert migration.switchover_started_at >= window_start, (migration.switchover_started_at, window_start)
        assert migration.rounds_count > before[migration.pk]
    for _ in range(3):
        move_groups_tick.delay()
    wait_for(lambda: MoveGroup.objects.get(pk=group.pk).state == MoveGroupState.COMPLETED, timeout=15)


def test_a_member_that_ends_starts_the_next_one_without_waiting_for_the_tick(celery_worker):
    topo = factories.topology()
    vms = [factories.workload(topo.ca_hosts[0], memory_gib=1, segment=topo.stretched) for _ in range(4)]
    group = move_group_create(name="One by one", workloads=vms, destination_host=topo.ca_hosts[1], concurrency=1)
    # No tick runs here: each member that completes feeds the next (the driver's end hook).
    wait_for(lambda: MoveGroup.objects.get(pk=group.pk).state == MoveGroupState.COMPLETED, timeout=40)
    assert Migration.objects.filter(state=MigrationState.COMPLETED).count() == 4
    spans = list(Migration.objects.order_by("pk").values_list("created_at", "finished_at"))
    for (_, finished), (created, _) in zip(spans, spans[1:], strict=False):
        assert created >= finished  # one at a time: the cap of 1 held
