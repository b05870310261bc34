"""SIGKILL the very worker process that holds a migration step, a drill step and a planned-migration step.

Real Redis, real Celery worker processes, the test database (SQLite, or PostgreSQL in CI's second pass). Only
the workers started here consume the queue, so the process each lease names is one of theirs: the test finds it
by its lease (the drill row's `lease_holder`, the migration chain's step holder in Redis), checks it belongs to
the worker it is about to kill, kills that worker's whole process group, and checks the holder is gone. A new
worker must then carry every run to exactly one terminal state with one terminal event, every workload on
exactly one host.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from inventory.models import Workload
from migration.chains import link_step_holder
from migration.choices import RUNNING_STATES
from migration.dr import services as dr_services
from migration.dr.choices import DrillKind, DrillState
from migration.dr.models import DrillRun, ProtectionGroup, RecoveryPlan
from migration.models import Migration
from migration.services import migration_start
from tests import factories
from tests.migration.dr.builders import demo_plan, protect
from tests.reliability.helpers import (
    alive,
    assert_drill_ended_once,
    assert_migration_ended_once,
    drop_queued_work,
    holder_pid,
    in_worker,
    wait_for,
)

# The operator's written reason for accepting the pre-check warnings (here: the disk is copied across sites).
REASON = "Storage moves to the recovery site are expected for this plan."

pytestmark = pytest.mark.integration


@dataclass
class Pair:
    """Two more linked sites (Oregon, Texas) for the moves, so that the test drill of California sees its own
    production unchanged."""

    src: object
    dst: object
    src_hosts: list
    dst_hosts: list
    segment: object


def _pair() -> Pair:
    src, dst = factories.site("Oregon DC"), factories.site("Texas DC")
    src_cluster, dst_cluster = factories.cluster(src, "or-compute"), factories.cluster(dst, "tx-compute")
    src_hosts = [factories.host(src_cluster, f"or-esx-{i:02d}") for i in (1, 2)]
    dst_hosts = [factories.host(dst_cluster, f"tx-esx-{i:02d}") for i in (1, 2)]
    factories.datastore(src, "or-vsan", src_hosts)
    factories.datastore(dst, "tx-vsan", dst_hosts)
    factories.link(src, dst, rtt_ms=40.0)
    segment = factories.segment("or-tx-stretched", "10.50.0.0/16", "10.50.0.1", [src, dst])
    return Pair(src, dst, src_hosts, dst_hosts, segment)


def _planned_plan(pair: Pair):
    plan = RecoveryPlan.objects.create(
        name="Planned move", protected_site=pair.src, recovery_site=pair.dst, target_rto_s=3600
    )
    groups = [ProtectionGroup.objects.create(plan=plan, name=n, priority=i) for i, n in enumerate(["app", "web"], 1)]
    moved = []
    for group, host, name in ((groups[0], pair.src_hosts[0], "pm-app-01"), (groups[1], pair.src_hosts[1], "pm-web-01")):
        w = factories.workload(host, name=name, memory_gib=24, vcpus=2, disk_gib=2, segment=pair.segment)
        protect(plan, group, w, rpo_s=900)
        moved.append(w)
    return plan, moved


def _holders(migration: Migration, drill_id: int, planned_id: int) -> dict[str, int | None]:
    return {
        "migration step": holder_pid(link_step_holder(migration.link_key)),
        "drill step": holder_pid(DrillRun.objects.get(pk=drill_id).lease_holder),
        "planned-migration step": holder_pid(DrillRun.objects.get(pk=planned_id).lease_holder),
    }


def test_killing_the_worker_holding_each_run_twice_loses_nothing(transactional_db, operator, settings, monkeypatch):
    from tests.conftest import start_celery_worker

    settings.SIMULATION_SPEED = 2  # the migration started here runs at this speed
    monkeypatch.setenv("SIMULATION_SPEED", "2")  # drills and planned migrations in the workers at this one
    setup = demo_plan()
    pair = _pair()
    planned_plan, planned_workloads = _planned_plan(pair)
    ips = {w.pk: w.ip_address for w in planned_workloads}
    vm = factories.workload(pair.src_hosts[0], name="big-vm", segment=pair.segment, memory_gib=24)
    drop_queued_work()

    workers = [start_celery_worker("holder-1")]
    try:
        migration = migration_start(workload=vm, destination_host=pair.dst_hosts[0], override_reason="storage moves")
        drill = dr_services.drill_start(plan=setup.plan)
        planned = dr_services.drill_start(
            plan=planned_plan, kind=DrillKind.PLANNED_MIGRATION, started_by=operator, override_reason=REASON
        )

        kills = []
        for round_no in (1, 2):
            holder = workers[-1]

            def all_held_by_holder(holder=holder):
                m = Migration.objects.get(pk=migration.pk)
                p = DrillRun.objects.get(pk=planned.pk)
                moving = Migration.objects.filter(workload__in=planned_workloads, state__in=["precopy"]).exists()
                held = _holders(m, drill.pk, planned.pk)
                ready = m.state == "precopy" and p.state == DrillState.RUNNING and moving
                return held if ready and all(in_worker(pid, holder) for pid in held.values()) else None

            def describe(holder=holder):
                m = Migration.objects.get(pk=migration.pk)
                runs = DrillRun.objects.filter(pk__in=[drill.pk, planned.pk]).order_by("pk")
                moves = Migration.objects.filter(workload__in=planned_workloads).values_list("state", flat=True)
                return (
                    f"worker {holder.pid}; migration {m.state}; planned moves {list(moves)}; "
                    f"holders {_holders(m, drill.pk, planned.pk)}; "
                    + "; ".join(f"run {r.pk} {r.state} token {r.step_token} held by {r.lease_holder}" for r in runs)
                )

            held = wait_for(
                all_held_by_holder, timeout=60, what=f"every lease held by worker {holder.name}", describe=describe
            )
            run = DrillRun.objects.get(pk=drill.pk)
            assert run.state == DrillState.RUNNING, f"the drill must still be running at kill {round_no}"
            done_before = run.steps.filter(state="done").count()
            holder.kill()
            for what, pid in held.items():
                wait_for(lambda pid=pid: not alive(pid), timeout=5, what=f"the {what} holder {pid} to die")
            kills.append((round_no, held, done_before))
            workers.append(start_celery_worker(f"holder-{round_no + 1}"))

        # The last worker (and the watchdog it runs at start and once the leases expire) finishes everything.
        wait_for(
            lambda: Migration.objects.get(pk=migration.pk).state in ("completed", "failed")
            and not DrillRun.objects.filter(pk__in=[drill.pk, planned.pk], state__in=["queued", "running"]).exists()
            and not Migration.objects.filter(workload__in=planned_workloads, state__in=RUNNING_STATES).exists(),
            timeout=150,
            what="every run to end after two kills",
        )  # fmt: skip
    finally:
        for worker in workers:
            worker.stop()

    assert len(kills) == 2
    # The standalone migration: moved once, one terminal event.
    m = assert_migration_ended_once(migration.pk)
    assert m.state == "completed", m.outcome_reason
    # The test drill: every step ran (it resumed where it stopped), one terminal entry, a full report.
    run = assert_drill_ended_once(drill.pk)
    assert run.state == DrillState.COMPLETED, run.reason
    assert list(run.steps.values_list("state", flat=True)) == ["done"] * run.steps.count()
    assert run.results.count() == len(setup.workloads)
    assert sorted(run.results.values_list("workload_id", flat=True)) == sorted(w.pk for w in setup.workloads)
    # The planned migration: both workloads moved once, with their IPs, one migration each.
    prun = assert_drill_ended_once(planned.pk)
    assert prun.state == DrillState.COMPLETED, prun.reason
    for w in Workload.objects.filter(pk__in=ips).select_related("host__cluster"):
        assert w.host.cluster.site_id == pair.dst.pk and w.ip_address == ips[w.pk]
        [moved] = Migration.objects.filter(workload=w)
        assert_migration_ended_once(moved.pk)
    # Each kill really took the holder of all three: the next holder was another process every time.
    killed = {pid for _, held, _ in kills for pid in held.values()}
    assert holder_pid(run.lease_holder) not in killed and holder_pid(prun.lease_holder) not in killed
    assert kills[1][2] >= kills[0][2]  # the drill went on from where it was, it did not start over
