"""With a real Redis and a real Celery worker: a move queued on a full link starts by itself, at the link's next step,
when a slot frees."""

import time

import pytest

from migration.choices import MigrationState
from migration.driver import STEP_INTERVAL_S
from migration.models import Migration
from migration.services import migration_start
from tests import factories

pytestmark = pytest.mark.integration


def wait_for(predicate, timeout=60.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s")


def test_a_queued_move_starts_when_a_slot_on_its_link_frees(celery_worker):
    topo = factories.topology()
    topo.ca_link_va.bandwidth_mbit = 500  # 2 moves at once
    topo.ca_link_va.save()
    sizes = (1, 16, 1)  # the first frees its slot soon; the second holds the other one throughout
    ms = []
    for i, gib in enumerate(sizes):
        vm = factories.workload(topo.ca_hosts[i % 2], segment=topo.stretched, memory_gib=gib, disk_gib=1)
        ms.append(
            migration_start(
                workload=vm, destination_host=topo.va_hosts[i % 2], override_reason="test", simulation_speed=20
            )
        )
    assert [m.state for m in ms] == ["prechecks", "prechecks", "queued"]
    first = wait_for(lambda: Migration.objects.filter(pk=ms[0].pk, state=MigrationState.COMPLETED).first())
    third = wait_for(lambda: Migration.objects.filter(pk=ms[2].pk, precopy_started_at__isnull=False).first(), 10)
    admitted = third.events.get(kind="admitted").at
    assert Migration.objects.get(pk=ms[1].pk).state in ("precopy", "switchover")  # the link stayed full meanwhile
    # Admitted in the step that freed the slot, running from the link's next step (with room for a loaded machine).
    assert (admitted - first.finished_at).total_seconds() < 1.0
    assert 0 <= (third.precopy_started_at - admitted).total_seconds() <= STEP_INTERVAL_S + 1.0
    done = wait_for(lambda: Migration.objects.filter(pk=ms[2].pk, state=MigrationState.COMPLETED).first())
    assert done.events.filter(kind="queued").exists()
