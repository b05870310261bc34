"""DR pages: plans with coverage, a plan's page, starting a drill and the schedule (operators), the report."""

from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from migration.dr import leases, runner, services
from migration.dr.models import DrillRun, RecoveryPlan
from migration.dr.selectors import failed_drill_alerts
from tests import factories
from tests.migration.dr.builders import demo_plan

pytestmark = pytest.mark.django_db


def finished_drill(plan) -> DrillRun:
    run = services.drill_start(plan=plan, enqueue=False)
    return runner.drill_execute(run_id=run.pk, pace=False)


def test_plan_list_shows_plans_and_unprotected_workloads_per_site(viewer_client):
    setup = demo_plan()
    stray = factories.workload(setup.topo.ca_hosts[0], name="ca-forgotten-01", segment=setup.topo.stretched)
    response = viewer_client.get(reverse("dr:plan_list"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "California → Virginia" in html
    assert "7 of 8" in html  # California: seven protected, one not
    assert stray.name in html
    assert "1 not protected" in html


def test_plan_list_queries_do_not_grow_with_plans(viewer_client):
    demo_plan()
    with CaptureQueriesContext(connection) as one:
        viewer_client.get(reverse("dr:plan_list"))
    plan = RecoveryPlan.objects.get()
    for i in range(5):
        RecoveryPlan.objects.create(
            name=f"extra {i}", protected_site=plan.protected_site, recovery_site=plan.recovery_site, target_rto_s=60
        )
    with CaptureQueriesContext(connection) as six:
        viewer_client.get(reverse("dr:plan_list"))
    assert len(six) == len(one)


def test_plan_page_shows_groups_rpo_drills_and_trend(viewer_client):
    setup = demo_plan()
    run = finished_drill(setup.plan)
    html = viewer_client.get(reverse("dr:plan_detail", args=[setup.plan.pk])).content.decode()
    for text in ("1. databases", "2. app tier", "3. web tier", "ca-db-01", "10.30.5.10", "5 min", "15 min", "1 h"):
        assert text in html
    assert f"#{run.pk}" in html
    assert 'id="rto-trend-data"' in html and f'"id": {run.pk}' in html
    # Viewers read: no button, no schedule form.
    assert 'id="run-drill"' not in html and 'id="save-schedule"' not in html


def test_operator_starts_a_drill_from_the_plan_page(operator_client, django_capture_on_commit_callbacks, monkeypatch):
    setup = demo_plan()
    enqueued = []
    monkeypatch.setattr(
        leases, "current_app", SimpleNamespace(send_task=lambda name, args: enqueued.append((name, args)))
    )
    html = operator_client.get(reverse("dr:plan_detail", args=[setup.plan.pk])).content.decode()
    assert 'id="run-drill"' in html
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(reverse("dr:plan_start_drill", args=[setup.plan.pk]))
    run = DrillRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("dr:drill_detail", args=[run.pk])
    assert enqueued == [("migration.dr.tasks.run_drill", (run.pk,))]  # enqueued once the row was committed
    assert run.started_by.username == "otto"
    # A second click while it is queued says so, and creates nothing.
    response = operator_client.post(reverse("dr:plan_start_drill", args=[setup.plan.pk]), follow=True)
    assert "already running" in response.content.decode()
    assert DrillRun.objects.count() == 1


def test_viewer_cannot_start_a_drill_or_change_the_schedule(viewer_client):
    setup = demo_plan()
    assert viewer_client.post(reverse("dr:plan_start_drill", args=[setup.plan.pk])).status_code == 403
    response = viewer_client.post(reverse("dr:plan_schedule", args=[setup.plan.pk]), {"time": "02:00", "days": "*"})
    assert response.status_code == 403
    assert not DrillRun.objects.exists() and not PeriodicTask.objects.filter(name__startswith="DR drill").exists()


def test_operator_sets_edits_and_removes_the_nightly_schedule(operator_client):
    setup = demo_plan()
    url = reverse("dr:plan_schedule", args=[setup.plan.pk])
    operator_client.post(url, {"time": "02:00", "days": "*", "enabled": "on"})
    setup.plan.refresh_from_db()
    task = setup.plan.schedule
    assert task.task == "migration.dr.tasks.scheduled_drill"
    assert task.name == "DR drill: California → Virginia"
    assert task.kwargs == f'{{"plan_id": {setup.plan.pk}}}'
    assert (task.crontab.hour, task.crontab.minute, task.crontab.day_of_week) == ("2", "0", "*")
    assert task.enabled
    html = operator_client.get(reverse("dr:plan_detail", args=[setup.plan.pk])).content.decode()
    assert 'value="02:00"' in html
    operator_client.post(url, {"time": "03:30", "days": "1-5"})  # edited, and paused (box unticked)
    task.refresh_from_db()
    assert (task.crontab.hour, task.crontab.minute, task.crontab.day_of_week) == ("3", "30", "1-5")
    assert not task.enabled
    assert PeriodicTask.objects.filter(name__startswith="DR drill").count() == 1
    operator_client.post(url, {"time": "03:30", "days": "1-5", "remove": "1"})
    setup.plan.refresh_from_db()
    assert setup.plan.schedule is None and not PeriodicTask.objects.filter(pk=task.pk).exists()


def test_live_drill_page_carries_the_drill_state(viewer_client):
    setup = demo_plan()
    run = finished_drill(setup.plan)
    html = viewer_client.get(reverse("dr:drill_detail", args=[run.pk])).content.decode()
    assert 'id="drill-state-data"' in html and "Bring up group 1: databases" in html
    assert "js/dr/drill_live.js" in html


def test_report_lists_steps_rto_per_workload_and_rpo(viewer_client):
    setup = demo_plan()
    run = finished_drill(setup.plan)
    html = viewer_client.get(reverse("dr:drill_report", args=[run.pk])).content.decode()
    for text in ("Prepare test network", "Verify", "Clean up", "ca-web-03", "RTO met", "va-esx-0", 'id="timeline"'):
        assert text in html
    assert html.count('badge green">met</span>') + html.count('badge red">violated</span>') == 7


def test_missed_target_raises_an_alert_until_a_drill_meets_it(viewer_client):
    setup = demo_plan(target_rto_s=30)
    missed = finished_drill(setup.plan)
    assert failed_drill_alerts() == [missed]
    html = viewer_client.get(reverse("dr:plan_list")).content.decode()
    assert "DR drill missed its target" in html
    RecoveryPlan.objects.filter(pk=setup.plan.pk).update(target_rto_s=36000)
    setup.plan.refresh_from_db()
    finished_drill(setup.plan)
    assert failed_drill_alerts() == []
