"""A planned migration whose moves have pre-check warnings starts only with the operator's own written reason: asked
for on the confirm page (a form error when blank), required by the API (400 listing the warnings), audited with the
warnings. Nothing starts on refusal."""

import pytest
from django.urls import reverse

from hybridcloud.core.models import AuditEntry
from migration.dr import selectors
from migration.dr.models import DrillRun
from migration.models import Migration
from tests.conftest import browser_login, screenshot
from tests.migration.dr.test_planned_migration_pages import movable_plan

REASON = "CHG-2231: failover rehearsal; the disk copies to Virginia were agreed with the app owners."


@pytest.mark.django_db
def test_the_preview_lists_the_warnings_naming_each_workload():
    plan = movable_plan()
    preview = selectors.planned_migration_preview(plan)
    assert not preview.errors and preview.warnings
    names = {"ca-app-01", "ca-app-02", "ca-web-01"}
    assert all(any(n in w for n in names) for w in preview.warnings)


@pytest.mark.django_db
def test_the_confirm_page_asks_for_the_reason_and_refuses_a_blank_one(operator_client, operator):
    plan = movable_plan()
    url = reverse("dr:plan_planned_migration", args=[plan.pk])
    page = operator_client.get(url).content.decode()
    assert 'id="planned-warnings"' in page and 'name="override_reason"' in page
    for blank in ({}, {"override_reason": "   "}):
        response = operator_client.post(url, blank)
        assert response.status_code == 200
        assert 'id="override-reason-error"' in response.content.decode()
    assert not DrillRun.objects.exists() and not Migration.objects.exists()
    response = operator_client.post(url, {"override_reason": REASON})
    run = DrillRun.objects.get(plan=plan)
    assert response.status_code == 302 and response["Location"] == reverse("dr:drill_detail", args=[run.pk])
    entry = AuditEntry.objects.get(action="drill.run", object_id=str(run.pk))
    assert entry.after["override_reason"] == REASON and entry.after["warnings"]
    assert entry.actor == operator and REASON in entry.message


@pytest.mark.django_db
def test_the_api_requires_override_reason_when_there_are_warnings(operator_client):
    plan = movable_plan()
    url = f"/api/dr/plans/{plan.pk}/planned-migrations/"
    refused = operator_client.post(url, {}, "application/json")
    assert refused.status_code == 400
    assert refused.json()["warnings"] == selectors.planned_migration_preview(plan).warnings
    assert "override reason" in refused.json()["errors"][0]
    assert not DrillRun.objects.exists()
    started = operator_client.post(url, {"override_reason": REASON}, "application/json")
    assert started.status_code == 201, started.content
    assert AuditEntry.objects.get(action="drill.run").after["override_reason"] == REASON


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_in_a_browser_the_operator_writes_the_reason_at_confirm_time(page, live_server_url, operator):
    plan = movable_plan()
    browser_login(page, live_server_url, operator.username)
    page.goto(live_server_url + reverse("dr:plan_planned_migration", args=[plan.pk]))
    page.wait_for_selector("#planned-warnings")
    assert "ca-app-01" in page.locator("#planned-warnings").inner_text()
    page.fill("#id_override_reason", "  ")
    page.click("#start-planned")
    page.wait_for_selector("#override-reason-error")
    screenshot(page, "dr-planned-migration-reason-required")
    assert not DrillRun.objects.exists()
    page.fill("#id_override_reason", REASON)
    page.click("#start-planned")
    page.wait_for_url("**/dr/drills/*/")
    screenshot(page, "dr-planned-migration-started")
    run = DrillRun.objects.get(plan=plan)
    assert AuditEntry.objects.get(action="drill.run", object_id=str(run.pk)).after["override_reason"] == REASON
