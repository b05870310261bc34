"""Starting a planned migration from the plan's page (with a confirmation) and from the API: operators only."""

import pytest
from django.test import Client
from django.urls import reverse

from migration.dr.choices import DrillKind, DrillState
from migration.dr.models import DrillRun, ProtectionGroup, RecoveryPlan
from migration.models import Migration
from tests import factories
from tests.migration.dr.builders import demo_plan, protect

pytestmark = pytest.mark.django_db


def movable_plan():
    """Two groups of California workloads, all on the stretched segment: every pre-check passes."""
    topo = factories.topology()
    plan = RecoveryPlan.objects.create(
        name="California → Virginia", protected_site=topo.ca, recovery_site=topo.va, target_rto_s=3600
    )
    app = ProtectionGroup.objects.create(plan=plan, name="app tier", priority=1)
    web = ProtectionGroup.objects.create(plan=plan, name="web tier", priority=2)
    ca1, ca2 = topo.ca_hosts
    for i in (1, 2):
        protect(plan, app, factories.workload(ca1, name=f"ca-app-{i:02d}", memory_gib=2, segment=topo.stretched))
    protect(plan, web, factories.workload(ca2, name="ca-web-01", memory_gib=2, segment=topo.stretched))
    return plan


def test_plan_page_offers_operators_a_planned_migration_and_viewers_nothing(operator, viewer):
    plan = demo_plan().plan
    url = reverse("dr:plan_planned_migration", args=[plan.pk])
    operator_client, viewer_client = Client(), Client()
    operator_client.force_login(operator)
    viewer_client.force_login(viewer)
    assert url in operator_client.get(reverse("dr:plan_detail", args=[plan.pk])).content.decode()
    assert "Planned migration…" not in viewer_client.get(reverse("dr:plan_detail", args=[plan.pk])).content.decode()
    assert viewer_client.get(url).status_code == 403
    assert viewer_client.post(url).status_code == 403
    assert not plan.drills.exists()


def test_confirmation_says_it_really_moves_production_with_groups_counts_and_no_errors(operator_client):
    plan = movable_plan()
    html = operator_client.get(reverse("dr:plan_planned_migration", args=[plan.pk])).content.decode()
    assert "This is not a drill." in html
    assert "really moves 3 production workloads, live, from" in html
    assert "1. app tier" in html and "ca-app-01, ca-app-02" in html and "2. web tier" in html
    assert "Pre-check errors" not in html
    assert 'id="start-planned"' in html and "disabled" not in html.split('id="start-planned"')[1].split(">")[0]
    assert not Migration.objects.exists()  # looking moves nothing


def test_confirmation_lists_the_precheck_errors_that_would_stop_it_and_cannot_be_submitted(operator_client):
    plan = demo_plan().plan
    url = reverse("dr:plan_planned_migration", args=[plan.pk])
    html = operator_client.get(url).content.decode()
    assert "Pre-check errors would stop it at group 1 (databases)" in html
    assert "ca-db-01: Segment ca-db-local is not present on Virginia DC" in html
    assert "disabled" in html.split('id="start-planned"')[1].split(">")[0]
    response = operator_client.post(url, follow=True)
    assert "The planned migration was not started" in response.content.decode()
    assert not plan.drills.exists() and not Migration.objects.exists()


def test_operator_confirms_and_the_planned_migration_starts(operator_client, operator):
    plan = movable_plan()
    # Moving to Virginia copies the disks too (a pre-check warning): the operator writes why that is fine.
    reason = {"override_reason": "Quarterly failover rehearsal, disks copy overnight."}
    response = operator_client.post(reverse("dr:plan_planned_migration", args=[plan.pk]), reason)
    run = DrillRun.objects.get(plan=plan)
    assert response.status_code == 302 and response["Location"] == reverse("dr:drill_detail", args=[run.pk])
    assert run.kind == DrillKind.PLANNED_MIGRATION and run.started_by == operator and run.state == DrillState.QUEUED


def test_api_starts_a_planned_migration_for_operators_only(operator, viewer):
    plan = movable_plan()
    url = f"/api/dr/plans/{plan.pk}/planned-migrations/"
    operator_client, viewer_client = Client(), Client()
    operator_client.force_login(operator)
    viewer_client.force_login(viewer)
    assert viewer_client.post(url, {}, "application/json").status_code == 403
    reason = {"override_reason": "Quarterly failover rehearsal, disks copy overnight."}
    response = operator_client.post(url, reason, "application/json")
    assert response.status_code == 201
    body = response.json()
    assert body["kind"] == "planned_migration" and body["state"] == "queued" and body["plan"] == plan.pk
    again = operator_client.post(url, reason, "application/json")
    assert again.status_code == 409 and "already running" in again.json()["errors"][0]


def test_api_refuses_a_planned_migration_that_precheck_errors_would_stop(operator_client):
    plan = demo_plan().plan
    response = operator_client.post(f"/api/dr/plans/{plan.pk}/planned-migrations/", {}, "application/json")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        e for e in response.json()["errors"] if e.startswith("ca-db-01: Segment ca-db-local is not present")
    ]
    assert not plan.drills.exists() and not Migration.objects.exists()
