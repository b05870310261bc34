"""The DR API: plans and drills to read, POST /api/dr/plans/<id>/drills/ to start a test drill (operators)."""

from types import SimpleNamespace

import pytest
from rest_framework.authtoken.models import Token

from migration.dr import leases, runner, services
from migration.dr.models import DrillRun
from tests.migration.dr.builders import demo_plan

pytestmark = pytest.mark.django_db


def test_plans_list_and_detail_with_groups(viewer_client):
    setup = demo_plan()
    listing = viewer_client.get("/api/dr/plans/").json()
    assert [p["name"] for p in listing["results"]] == ["California → Virginia"]
    assert listing["results"][0]["recovery_site_name"] == "Virginia DC"
    detail = viewer_client.get(f"/api/dr/plans/{setup.plan.pk}/").json()
    assert [g["name"] for g in detail["groups"]] == ["databases", "app tier", "web tier"]
    db = detail["groups"][0]["workloads"][0]
    assert db["workload_name"] == "ca-db-01" and db["rpo_s"] == 300 and db["recovery_ip"] == "10.30.5.10"


def test_drill_detail_has_steps_and_results(viewer_client):
    setup = demo_plan()
    run = services.drill_start(plan=setup.plan, enqueue=False)
    runner.drill_execute(run_id=run.pk, pace=False)
    listing = viewer_client.get(f"/api/dr/drills/?plan={setup.plan.pk}").json()
    assert listing["results"][0]["id"] == run.pk and listing["results"][0]["verdict"] == "met"
    body = viewer_client.get(f"/api/dr/drills/{run.pk}/").json()
    assert [s["kind"] for s in body["steps"]] == [
        "prepare_network",
        "bring_up",
        "bring_up",
        "bring_up",
        "verify",
        "clean_up",
    ]
    assert len(body["results"]) == 7 and all(r["up_at_s"] > 0 for r in body["results"])
    assert body["measured_rto_s"] == max(r["up_at_s"] for r in body["results"])


def test_operator_starts_a_drill_through_the_api(operator, client, django_capture_on_commit_callbacks, monkeypatch):
    setup = demo_plan()
    enqueued = []
    monkeypatch.setattr(
        leases, "current_app", SimpleNamespace(send_task=lambda name, args: enqueued.append((name, args)))
    )
    token = Token.objects.create(user=operator)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/dr/plans/{setup.plan.pk}/drills/", **auth)
    assert response.status_code == 201
    body = response.json()
    assert body["state"] == "queued" and body["kind"] == "test" and body["trigger"] == "manual"
    assert enqueued == [("migration.dr.tasks.run_drill", (body["id"],))]
    again = client.post(f"/api/dr/plans/{setup.plan.pk}/drills/", **auth)
    assert again.status_code == 409 and "already running" in again.json()["errors"][0]
    assert DrillRun.objects.count() == 1


def test_viewer_and_anonymous_cannot_start_a_drill(viewer_client, client):
    setup = demo_plan()
    assert viewer_client.post(f"/api/dr/plans/{setup.plan.pk}/drills/").status_code == 403
    client.logout()
    assert client.post(f"/api/dr/plans/{setup.plan.pk}/drills/").status_code in (401, 403)
    assert client.get("/api/dr/plans/").status_code in (401, 403)
    assert not DrillRun.objects.exists()


def test_unknown_plan_is_404(operator_client):
    assert operator_client.post("/api/dr/plans/999/drills/").status_code == 404
