"""Drills against the database: steps, results, production untouched, capacity, one at a time."""

import threading

import pytest
from django.db import connection

from inventory.models import Host, NetworkSegment, Workload
from migration.dr import inputs, runner, schedules, services
from migration.dr.choices import DrillState, DrillTrigger, Verdict
from migration.dr.models import DrillRun, ProtectedWorkload
from tests import factories
from tests.migration.dr.builders import demo_plan


def production_rows() -> list:
    """Every value of every Workload, Host and NetworkSegment row (and where segments are present)."""
    return [
        list(Workload.objects.order_by("pk").values_list()),
        list(Host.objects.order_by("pk").values_list()),
        list(NetworkSegment.objects.order_by("pk").values_list()),
        list(NetworkSegment.sites.through.objects.order_by("pk").values_list()),
    ]


def run_test_drill(plan, **kwargs) -> DrillRun:
    run = services.drill_start(plan=plan, enqueue=False, **kwargs)
    return runner.drill_execute(run_id=run.pk)


@pytest.mark.django_db
def test_drill_on_the_demo_plan_completes_with_every_step_rto_and_rpo():
    setup = demo_plan()
    run = run_test_drill(setup.plan)
    assert run.state == DrillState.COMPLETED
    assert run.verdict == Verdict.MET
    assert run.test_network == f"drill-{run.pk}-bubble"
    steps = list(run.steps.order_by("order"))
    assert [s.name for s in steps] == [
        "Prepare test network",
        "Bring up group 1: databases",
        "Bring up group 2: app tier",
        "Bring up group 3: web tier",
        "Verify",
        "Clean up",
    ]
    assert all(s.state == "done" and s.started_at and s.finished_at and s.wall_duration_s is not None for s in steps)
    assert "Production unchanged" in steps[4].reason
    results = {r.workload_name: r for r in run.results.all()}
    assert set(results) == {w.name for w in setup.workloads}
    for r in results.values():
        assert r.state == "recovered"
        assert r.up_at_s > 0 and r.recovery_time_s == pytest.approx(r.transfer_s + r.boot_s)
        assert r.recovered_on.startswith("va-esx-")
        assert r.rpo_met == (r.replication_lag_s <= r.rpo_s)
    # The database on the California-only segment came up re-addressed; the others keep their IPs.
    assert results["ca-db-01"].test_ip == "10.30.5.10"
    assert results["ca-web-01"].test_ip == Workload.objects.get(name="ca-web-01").ip_address
    assert run.measured_rto_s == pytest.approx(max(r.up_at_s for r in results.values()))
    # Web tier came up after the app tier, which came up after the databases.
    assert min(r.up_at_s for r in results.values() if r.priority == 3) > max(
        r.up_at_s for r in results.values() if r.priority == 2
    )


@pytest.mark.django_db
def test_test_drill_leaves_production_untouched():
    setup = demo_plan()
    before = production_rows()
    run = run_test_drill(setup.plan)
    assert run.state == DrillState.COMPLETED
    assert production_rows() == before


@pytest.mark.django_db
def test_drill_fails_loudly_when_production_changes_under_it(monkeypatch):
    setup = demo_plan()
    real = inputs.production_fingerprint
    calls = []

    def changing(site_ids=None):
        calls.append(site_ids)
        if len(calls) == 2:  # between the first snapshot and the verify step
            Workload.objects.filter(name="ca-web-01").update(vcpus=3)
        return real(site_ids)

    monkeypatch.setattr(runner, "production_fingerprint", changing)
    run = run_test_drill(setup.plan)
    assert run.state == DrillState.FAILED and run.verdict == Verdict.MISSED
    verify = run.steps.get(kind="verify")
    assert verify.state == "failed" and "PRODUCTION CHANGED" in verify.reason


@pytest.mark.django_db
def test_recovery_site_without_capacity_fails_steps_with_reasons():
    setup = demo_plan()
    # Virginia's hosts are nearly full: a big production workload on each leaves 6 GiB free.
    for host in setup.topo.va_hosts:
        factories.workload(host, memory_gib=506, vcpus=4, segment=setup.topo.va_local)
    run = run_test_drill(setup.plan)
    assert run.state == DrillState.FAILED
    assert run.verdict == Verdict.MISSED
    databases = run.steps.get(name="Bring up group 1: databases")
    assert databases.state == "failed"
    assert "Needs 16 GiB, 6.0 GiB free on Virginia DC" in databases.reason
    db = run.results.get(workload_name="ca-db-01")
    assert db.state == "failed" and db.recovered_on == "" and db.up_at_s is None
    # Later groups still ran: the 4 GiB web tier fits where it can.
    web = run.results.filter(priority=3)
    assert web.filter(state="recovered").exists()
    assert "Bring up group 1: databases failed" in run.reason


@pytest.mark.django_db
def test_missing_link_fails_every_bring_up_step():
    setup = demo_plan()
    setup.topo.ca_link_va.delete()
    run = run_test_drill(setup.plan)
    assert run.state == DrillState.FAILED
    bring_ups = run.steps.filter(kind="bring_up")
    assert bring_ups.count() == 3
    assert all(s.state == "failed" and "No link between California DC and Virginia DC" in s.reason for s in bring_ups)
    assert run.measured_rto_s is None


@pytest.mark.django_db
def test_target_missed_when_rto_exceeds_it():
    setup = demo_plan(target_rto_s=60)
    run = run_test_drill(setup.plan)
    assert run.state == DrillState.COMPLETED
    assert run.verdict == Verdict.MISSED
    assert "over the target of 1 min 00 s" in run.reason


@pytest.mark.django_db
def test_stale_replica_violates_its_rpo():
    from datetime import timedelta

    from django.utils import timezone

    setup = demo_plan()
    ProtectedWorkload.objects.filter(workload__name="ca-web-02").update(
        last_replicated_at=timezone.now() - timedelta(hours=2)
    )
    run = run_test_drill(setup.plan)
    stale = run.results.get(workload_name="ca-web-02")
    assert stale.rpo_met is False
    assert stale.data_loss_window_s >= 7200


@pytest.mark.django_db
def test_second_start_while_one_is_active_is_refused():
    setup = demo_plan()
    first = services.drill_start(plan=setup.plan, enqueue=False)
    with pytest.raises(services.DrillNotStarted, match="already running"):
        services.drill_start(plan=setup.plan, trigger=DrillTrigger.SCHEDULE, enqueue=False)
    assert DrillRun.objects.count() == 1
    runner.drill_execute(run_id=first.pk)
    # Once it has ended, a new one may start.
    services.drill_start(plan=setup.plan, enqueue=False)


@pytest.mark.django_db
def test_second_delivery_of_the_same_run_does_nothing():
    setup = demo_plan()
    run = services.drill_start(plan=setup.plan, enqueue=False)
    assert runner.drill_execute(run_id=run.pk) is not None
    assert runner.drill_execute(run_id=run.pk) is None
    assert run.steps.count() == 6


@pytest.mark.django_db(transaction=True)
def test_schedule_firing_twice_at_once_runs_one_drill():
    setup = demo_plan()
    barrier = threading.Barrier(2)
    outcomes = []

    def fire():
        try:
            barrier.wait()
            outcomes.append(schedules.scheduled_drill_run(plan_id=setup.plan.pk, in_process=True, pace=False))
        finally:
            connection.close()

    threads = [threading.Thread(target=fire) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert DrillRun.objects.count() == 1
    assert sum(o is not None for o in outcomes) == 1
    run = DrillRun.objects.get()
    assert run.trigger == DrillTrigger.SCHEDULE and run.state == DrillState.COMPLETED


@pytest.mark.django_db
def test_cancelled_drill_does_not_run():
    setup = demo_plan()
    run = services.drill_start(plan=setup.plan, enqueue=False)
    assert services.drill_cancel(run=run)
    assert runner.drill_execute(run_id=run.pk) is None
    run.refresh_from_db()
    assert run.state == DrillState.CANCELLED and run.steps.count() == 0


@pytest.mark.django_db
def test_rpo_outside_bounds_is_refused_with_a_clear_message():
    from django.core.exceptions import ValidationError

    demo_plan()
    member = ProtectedWorkload.objects.get(workload__name="ca-web-01")
    member.rpo_s = 60
    with pytest.raises(ValidationError) as excinfo:
        member.full_clean()
    assert "at least 5 minutes" in str(excinfo.value)
    member.rpo_s = 2 * 86400
    with pytest.raises(ValidationError) as excinfo:
        member.full_clean()
    assert "at most 24 hours" in str(excinfo.value)


@pytest.mark.django_db
def test_workload_protected_once_per_plan_and_only_from_the_protected_site():
    from django.core.exceptions import ValidationError

    setup = demo_plan()
    again = ProtectedWorkload(plan=setup.plan, group=setup.groups[2], workload=setup.workloads[0], rpo_s=900)
    with pytest.raises(ValidationError, match="already protected by this plan"):
        again.full_clean()
    virginian = factories.workload(setup.topo.va_hosts[0], segment=setup.topo.stretched)
    wrong_site = ProtectedWorkload(plan=setup.plan, group=setup.groups[2], workload=virginian, rpo_s=900)
    with pytest.raises(ValidationError, match="not on the protected site"):
        wrong_site.full_clean()
