"""A planned migration of a plan really moves its workloads, live, with a real Celery worker."""

import time

import pytest

from inventory.models import Workload
from migration.dr import runner, services
from migration.dr.choices import DrillKind, DrillState
from migration.dr.models import DrillRun, ProtectionGroup, RecoveryPlan
from migration.models import Migration
from tests import factories
from tests.migration.dr.builders import protect

# The operator's written reason for accepting the pre-check warnings (here: the disk is copied across sites).
REASON = "Storage moves to the recovery site are expected for this plan."

pytestmark = pytest.mark.integration


def wait_finished(run_id: int, timeout: float = 120.0) -> DrillRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = DrillRun.objects.get(pk=run_id)
        if run.state not in (DrillState.QUEUED, DrillState.RUNNING):
            return run
        time.sleep(0.2)
    raise AssertionError(f"the planned migration did not finish in {timeout} s")


def plan_with_groups(topo, names):
    plan = RecoveryPlan.objects.create(
        name="California → Virginia", protected_site=topo.ca, recovery_site=topo.va, target_rto_s=3600
    )
    groups = [ProtectionGroup.objects.create(plan=plan, name=n, priority=i) for i, n in enumerate(names, 1)]
    return plan, groups


def small(host, name, segment):
    return factories.workload(host, name=name, memory_gib=2, vcpus=2, disk_gib=2, segment=segment)


def test_planned_migration_moves_every_workload_live_to_virginia_keeping_its_ip(celery_worker, operator):
    topo = factories.topology()
    plan, groups = plan_with_groups(topo, ["app tier", "web tier"])
    ca1, ca2 = topo.ca_hosts
    workloads = [small(ca1, "ca-app-01", topo.stretched), small(ca2, "ca-web-01", topo.stretched)]
    protect(plan, groups[0], workloads[0], rpo_s=900)
    protect(plan, groups[1], workloads[1], rpo_s=900)
    ips = {w.pk: w.ip_address for w in workloads}

    run = services.drill_start(plan=plan, kind=DrillKind.PLANNED_MIGRATION, started_by=operator, override_reason=REASON)
    run = wait_finished(run.pk)

    assert run.state == DrillState.COMPLETED, run.reason
    steps = list(run.steps.order_by("order"))
    assert [(s.name, s.state) for s in steps] == [
        ("Migrate group 1: app tier", "done"),
        ("Migrate group 2: web tier", "done"),
        ("Verify", "done"),
    ]
    for w in Workload.objects.filter(pk__in=ips).select_related("host__cluster"):
        assert w.host.cluster.site == topo.va
        assert w.ip_address == ips[w.pk]
    migrations = {m.workload_id: m for m in Migration.objects.filter(workload__in=workloads)}
    assert all(m.state == "completed" and m.requested_by == operator for m in migrations.values())
    assert all(m.override_reason == REASON for m in migrations.values())  # the operator's words, not a canned text
    results = {r.workload_id: r for r in run.results.all()}
    for pk, r in results.items():
        assert r.state == "recovered"
        assert r.recovered_on.startswith("va-esx-")
        assert r.recovery_time_s == pytest.approx(migrations[pk].total_time_s)
    # The web tier moved after the app tier was up.
    assert results[workloads[1].pk].up_at_s > results[workloads[0].pk].up_at_s
    assert run.measured_rto_s == pytest.approx(max(r.up_at_s for r in results.values()))


def test_planned_migration_stops_at_the_first_precheck_error_and_moves_nothing_after_it(celery_worker, operator):
    topo = factories.topology()
    plan, groups = plan_with_groups(topo, ["databases", "web tier"])
    ca1, ca2 = topo.ca_hosts
    db = small(ca1, "ca-db-01", topo.ca_local)
    web = small(ca2, "ca-web-01", topo.stretched)
    protect(plan, groups[0], db, rpo_s=300, recovery_segment=topo.va_local, recovery_ip="10.30.5.10")
    protect(plan, groups[1], web, rpo_s=900)

    run = services.drill_start(plan=plan, kind=DrillKind.PLANNED_MIGRATION, started_by=operator, override_reason=REASON)
    run = wait_finished(run.pk)

    assert run.state == DrillState.FAILED
    first, later, verify = run.steps.order_by("order")
    assert first.state == "failed"
    assert "Segment ca-db-local is not present on Virginia DC" in first.reason
    assert later.state == verify.state == "skipped"
    assert "stopped after the first error" in later.reason
    assert "Segment ca-db-local is not present" in run.reason
    web.refresh_from_db()
    db.refresh_from_db()
    assert web.host == ca2 and db.host == ca1
    assert not Migration.objects.filter(workload__in=[db, web]).exists()
    results = {r.workload_name: r.state for r in run.results.all()}
    assert results == {"ca-db-01": "failed", "ca-web-01": "skipped"}


@pytest.mark.django_db
def test_only_an_operator_can_start_a_planned_migration(viewer):
    topo = factories.topology()
    plan, _ = plan_with_groups(topo, ["web tier"])
    for who in (viewer, None):
        with pytest.raises(services.DrillNotStarted, match="Only an operator"):
            services.drill_start(plan=plan, kind=DrillKind.PLANNED_MIGRATION, started_by=who)
    assert not plan.drills.exists()


def started_planned_migration(topo, operator):
    """A planned migration of two groups, claimed and laid out, its steps not yet run (no worker here)."""
    plan, groups = plan_with_groups(topo, ["app tier", "web tier"])
    ca1, ca2 = topo.ca_hosts
    apps = [small(ca1, f"ca-app-{i:02d}", topo.stretched) for i in (1, 2)]
    web = small(ca2, "ca-web-01", topo.stretched)
    for w in apps:
        protect(plan, groups[0], w, rpo_s=900)
    protect(plan, groups[1], web, rpo_s=900)
    run = services.drill_start(
        plan=plan, kind=DrillKind.PLANNED_MIGRATION, started_by=operator, enqueue=False, override_reason=REASON
    )
    runner.drill_execute(run_id=run.pk)
    return run, apps, web


@pytest.mark.django_db
def test_a_duplicate_delivery_of_a_planned_migration_step_starts_no_migration_twice(operator):
    topo = factories.topology()
    run, apps, web = started_planned_migration(topo, operator)

    first = runner.planned_migration_advance(run_id=run.pk, token=0)
    again = runner.planned_migration_advance(run_id=run.pk, token=0)  # the same message, delivered twice

    assert first is not None and 0 < first <= 5  # it looks again shortly, without sleeping
    assert again is None
    assert Migration.objects.filter(workload__in=apps).count() == 2
    assert sorted(Migration.objects.values_list("workload__name", flat=True)) == ["ca-app-01", "ca-app-02"]
    assert not Migration.objects.filter(workload=web).exists()  # the web tier waits for the app tier
    run.refresh_from_db()
    assert run.step_token == 1 and run.state == DrillState.RUNNING
    assert [s.state for s in run.steps.order_by("order")] == ["running", "pending", "pending"]
    # While the app tier moves, the next step only looks: nothing more is started, nothing is finished.
    assert runner.planned_migration_advance(run_id=run.pk, token=1) is not None
    assert Migration.objects.count() == 2
    assert run.steps.get(order=1).state == "running"


@pytest.mark.django_db
def test_cancelling_a_planned_migration_cancels_its_moves_and_leaves_the_workloads_on_their_source(operator):
    topo = factories.topology()
    run, apps, web = started_planned_migration(topo, operator)
    runner.planned_migration_advance(run_id=run.pk, token=0)  # the app tier starts moving
    hosts = {w.pk: w.host_id for w in apps}

    assert services.drill_cancel(run=run, by=operator)

    moves = list(Migration.objects.filter(workload__in=apps))
    assert [m.state for m in moves] == ["cancelled", "cancelled"]
    assert all("Cancelled by otto" in m.outcome_reason for m in moves)
    assert runner.planned_migration_advance(run_id=run.pk, token=1) is None  # the run winds down
    run.refresh_from_db()
    assert run.state == DrillState.CANCELLED
    assert "2 live migration(s) stopped before their switchover" in run.reason
    steps = list(run.steps.order_by("order"))
    assert [s.state for s in steps] == ["skipped", "skipped", "skipped"]
    assert "0 of 2 workloads had already switched over" in steps[0].reason
    assert "cancelled" in steps[1].reason
    for w in Workload.objects.filter(pk__in=hosts):
        assert w.host_id == hosts[w.pk] and w.host.cluster.site == topo.ca
    assert not Migration.objects.filter(workload=web).exists()
    results = {r.workload_name: r for r in run.results.all()}
    assert results["ca-app-01"].state == "skipped" and "stays on ca-esx-" in results["ca-app-01"].reason
    assert results["ca-web-01"].state == "skipped" and "cancelled" in results["ca-web-01"].reason


@pytest.mark.django_db
def test_a_planned_migration_without_the_operators_reason_does_not_accept_warnings(operator):
    """No canned reason: a move with warnings and no written reason is refused, and the result says why."""
    from migration.dr.models import DrillWorkloadResult

    topo = factories.topology()
    plan, groups = plan_with_groups(topo, ["app tier"])
    app = small(topo.ca_hosts[0], "ca-app-01", topo.stretched)
    protect(plan, groups[0], app, rpo_s=900)
    run = services.drill_start(plan=plan, kind=DrillKind.PLANNED_MIGRATION, started_by=operator, enqueue=False)
    runner.drill_execute(run_id=run.pk)
    runner.planned_migration_advance(run_id=run.pk, token=0)

    assert not Migration.objects.filter(workload=app).exists()
    result = DrillWorkloadResult.objects.get(run=run, workload_name="ca-app-01")
    assert "need a written override reason" in result.reason
