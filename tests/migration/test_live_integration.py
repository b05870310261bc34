"""End to end with a real Redis and a real Celery worker: migrations run, are shared, queued, cancelled, resumed."""

import asyncio
import threading
import time

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connection

from hybridcloud.asgi import application
from inventory.models import Workload
from migration.choices import MigrationState
from migration.models import Migration
from migration.services import MigrationRefused, migration_cancel, migration_start
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


def finished(pk):
    m = Migration.objects.get(pk=pk)
    return m if m.state in ("completed", "failed", "cancelled") else None


def test_live_migration_between_sites_completes_and_keeps_the_ip(celery_worker, settings):
    settings.SIMULATION_SPEED = 20
    topo = factories.topology()
    vm = factories.workload(
        topo.ca_hosts[0], segment=topo.stretched, memory_gib=8, disk_gib=20, dirty_rate_bps=200_000_000
    )
    ip = vm.ip_address
    migration = migration_start(
        workload=vm, destination_site=topo.va, override_reason="Disk moves with it: agreed with the app owner."
    )
    done = wait_for(lambda: finished(migration.pk), timeout=60)
    assert done.state == MigrationState.COMPLETED, done.outcome_reason
    vm.refresh_from_db()
    assert vm.host.cluster.site == topo.va
    assert vm.ip_address == ip
    assert vm.datastore == topo.va_datastore
    assert done.rounds.count() == done.rounds_count >= 2
    assert done.downtime_s is not None and done.downtime_s < 0.3
    kinds = list(done.events.values_list("kind", flat=True))
    assert kinds[0] == "created" and kinds[-1] == "completed"
    assert "phase" in kinds


@pytest.mark.asyncio
async def test_websocket_client_receives_ordered_progress_ending_in_completed(celery_worker, settings, ws_headers):
    settings.SIMULATION_SPEED = 10
    topo = await database_sync_to_async(factories.topology)()
    vm = await database_sync_to_async(factories.workload)(topo.ca_hosts[0], segment=topo.stretched, memory_gib=16)
    operator = await database_sync_to_async(factories_operator)()
    headers = await database_sync_to_async(ws_headers)(operator)
    # Connect before it starts, so that every push is seen.
    migration = await database_sync_to_async(migration_start)(
        workload=vm, destination_host=topo.ca_hosts[1], requested_by=operator
    )
    communicator = WebsocketCommunicator(application, f"/ws/migrations/{migration.pk}/", headers=headers)
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["type"] == "snapshot"
    seqs, states = [snapshot["seq"]], [snapshot["state"]]
    while states[-1] not in ("completed", "failed", "cancelled"):
        message = await communicator.receive_json_from(timeout=15)
        if len(seqs) == 1 and message["seq"] <= seqs[0]:
            continue  # published before the snapshot was read, so already in it (the page drops these too)
        seqs.append(message["seq"])
        states.append(message["state"])
    await communicator.disconnect()
    assert states[-1] == "completed"
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert seqs[1:] == list(range(seqs[1], seqs[-1] + 1)), "no gaps after the snapshot"
    assert "precopy" in states and "switchover" in states
    assert len(states) >= 5  # progress pushes while it runs, not just the phases


def factories_operator():
    from tests.conftest import make_user

    return make_user("ws-operator", group="operators")


@pytest.mark.parametrize(
    "case",
    ["no_stretched_segment", "rtt_above_150", "cpu_mismatch", "no_capacity"],
)
def test_refused_moves_never_start_and_say_why(celery_worker, case):
    topo = factories.topology()
    if case == "no_stretched_segment":
        vm, dest, expect = factories.workload(topo.ca_hosts[0], segment=topo.ca_local), topo.va_hosts[0], "would change"
    elif case == "rtt_above_150":
        vm, dest, expect = factories.workload(topo.ca_hosts[0], segment=topo.stretched), topo.far_hosts[0], "160 ms"
    elif case == "cpu_mismatch":
        from inventory.choices import CpuBaseline

        amd = factories.host(factories.cluster(topo.ca, "ca-amd", CpuBaseline.AMD_ZEN4), "ca-amd-01")
        topo.ca_datastore.hosts.add(amd)
        vm, dest, expect = factories.workload(topo.ca_hosts[0]), amd, "cannot move between CPU vendors"
    else:
        vm, dest, expect = factories.workload(topo.ca_hosts[0], memory_gib=600), topo.ca_hosts[1], "memory free"
    with pytest.raises(MigrationRefused) as refused:
        migration_start(workload=vm, destination_host=dest, override_reason="try anyway")
    assert any(expect in e for e in refused.value.errors), refused.value.errors
    time.sleep(0.3)
    assert Migration.objects.count() == 0
    assert Workload.objects.get(pk=vm.pk).host_id == vm.host_id


def test_fifth_migration_on_a_1gbe_host_waits_then_runs(celery_worker, settings):
    settings.SIMULATION_SPEED = 10
    topo = factories.topology()
    slow = factories.host(topo.ca_cluster, "ca-1g-01", nic_gbps=1)
    topo.ca_datastore.hosts.add(slow)
    vms = [factories.workload(slow, memory_gib=2) for _ in range(5)]
    migrations = [migration_start(workload=vm, destination_host=topo.ca_hosts[0]) for vm in vms]
    assert [m.state for m in migrations] == ["prechecks"] * 4 + ["queued"]
    fifth = migrations[4]
    assert "limit" in fifth.events.get(kind="queued").message
    # It starts by itself when one of the four ends, and completes.
    wait_for(lambda: Migration.objects.get(pk=fifth.pk).state != "queued", timeout=60)
    # The four end at different times (each guest dirties memory at its own varying rate): one had ended.
    ended = Migration.objects.filter(pk__in=[m.pk for m in migrations[:4]], finished_at__isnull=False)
    assert ended.exists(), "the fifth started before any slot freed"
    done = wait_for(lambda: finished(fifth.pk), timeout=60)
    assert done.state == "completed"
    assert Workload.objects.get(pk=vms[4].pk).host == topo.ca_hosts[0]


def test_cancel_leaves_the_workload_on_its_source(celery_worker, settings, operator):
    settings.SIMULATION_SPEED = 2
    topo = factories.topology()
    vm = factories.workload(topo.ca_hosts[0], segment=topo.stretched, memory_gib=32)
    migration = migration_start(workload=vm, destination_host=topo.ca_hosts[1])
    wait_for(lambda: Migration.objects.get(pk=migration.pk).bytes_sent > 0, timeout=20)
    migration_cancel(migration=migration, by=operator)
    time.sleep(1.0)  # the driver keeps stepping its link: it must not undo the cancel
    migration.refresh_from_db()
    assert migration.state == "cancelled"
    assert "otto" in migration.outcome_reason
    assert Workload.objects.get(pk=vm.pk).host == topo.ca_hosts[0]
    assert migration.events.filter(kind="cancelled").exists()


def test_killed_worker_midway_then_new_worker_ends_with_workload_on_exactly_one_host(transactional_db, settings):
    """The worker killed is the one whose process runs the migration's steps (the chain records its holder):
    only workers started here consume the queue, and the holder is checked to be one of the victim's processes."""
    from migration.chains import link_step_holder
    from tests.conftest import start_celery_worker
    from tests.reliability.helpers import alive, drop_queued_work, holder_pid, in_worker

    settings.SIMULATION_SPEED = 4
    topo = factories.topology()
    vm = factories.workload(topo.ca_hosts[0], segment=topo.stretched, memory_gib=24)
    drop_queued_work()
    extra = start_celery_worker("killme")
    replacement = None
    try:
        migration = migration_start(workload=vm, destination_host=topo.va_hosts[0], override_reason="storage moves")
        wait_for(lambda: Migration.objects.get(pk=migration.pk).state in ("precopy", "switchover"), timeout=20)
        pid = wait_for(
            lambda: (p := holder_pid(link_step_holder(migration.link_key))) and in_worker(p, extra) and p, timeout=10
        )
        extra.kill()
        wait_for(lambda: not alive(pid), timeout=5)
        assert Migration.objects.get(pk=migration.pk).state in ("precopy", "switchover")  # killed mid-way
        replacement = start_celery_worker("replacement")
        done = wait_for(lambda: finished(migration.pk), timeout=120)
    finally:
        extra.kill()
        if replacement is not None:
            replacement.stop()
    vm.refresh_from_db()
    assert done.state in ("completed", "failed")
    expected = topo.va_hosts[0] if done.state == "completed" else topo.ca_hosts[0]
    assert vm.host == expected
    assert Workload.objects.filter(name=vm.name).count() == 1
    assert done.events.filter(kind__in=("completed", "failed", "cancelled")).count() == 1
    assert holder_pid(link_step_holder(migration.link_key)) != pid
    if done.state == "completed":
        assert done.rounds.count() == done.rounds_count


def test_two_concurrent_starts_for_one_workload_give_exactly_one_migration(transactional_db):
    topo = factories.topology()
    vm = factories.workload(topo.ca_hosts[0])
    barrier = threading.Barrier(2)
    outcomes = []

    def start():
        try:
            barrier.wait()
            outcomes.append(migration_start(workload=vm, destination_host=topo.ca_hosts[1]).pk)
        except MigrationRefused as exc:
            outcomes.append(exc.errors[0])
        finally:
            connection.close()

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Migration.objects.filter(workload=vm).count() == 1
    assert sum(isinstance(o, int) for o in outcomes) == 1
    assert any(isinstance(o, str) and "already being migrated" in o for o in outcomes)
    asyncio.get_event_loop_policy()  # keep the import used on every path
