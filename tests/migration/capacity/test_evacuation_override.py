"""An evacuation whose moves have pre-check warnings starts only with the operator's own written reason: asked for on
the confirm page (refused with a form error when blank), required by the API (400 listing the warnings), stored on
the evacuation, audited with the warnings, and carried by each migration instead of a canned sentence."""

from __future__ import annotations

import pytest

from hybridcloud.core.models import AuditEntry
from inventory.choices import PowerState
from migration.capacity.models import Evacuation
from migration.capacity.services.evacuations import evacuation_plan, host_evacuate
from migration.capacity.services.refusals import OverrideReasonRequired
from migration.models import Migration
from tests import factories
from tests.conftest import browser_login, screenshot

pytestmark = pytest.mark.django_db

REASON = "CHG-4711: the batch VM is off for the quarter; moving it cold was agreed with its owner."


@pytest.fixture
def warned(db):
    """A host with a running VM and a powered-off one: moving the latter cold is a pre-check warning."""
    topo = factories.topology()
    source = topo.ca_hosts[0]
    running = factories.workload(source, memory_gib=2, segment=topo.stretched)
    off = factories.workload(source, memory_gib=2, segment=topo.stretched, power_state=PowerState.OFF)
    return topo, source, running, off


def test_the_plan_lists_each_moves_warnings(warned):
    _, source, running, off = warned
    plan = evacuation_plan(host=source)
    assert len(plan.movable) == 2
    assert plan.warnings and all(off.name in w and running.name not in w for w in plan.warnings)
    assert "moved cold" in plan.warnings[0]


def test_without_a_reason_nothing_starts(warned, operator):
    _, source, _, off = warned
    with pytest.raises(OverrideReasonRequired) as exc:
        host_evacuate(host=source, user=operator, override_reason="   ")
    assert exc.value.warnings and off.name in exc.value.warnings[0]
    assert "need a written override reason" in exc.value.errors[0]
    assert not Evacuation.objects.exists() and not Migration.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="evacuation").exists()


def test_the_reason_is_stored_audited_and_carried_by_each_migration(warned, operator):
    _, source, running, off = warned
    evacuation = host_evacuate(host=source, user=operator, override_reason=f"  {REASON} ")
    assert evacuation.override_reason == REASON
    entry = AuditEntry.objects.get(action="evacuation.start", object_id=str(evacuation.pk))
    assert entry.after["override_reason"] == REASON and entry.after["warnings"] == evacuation_plan_warnings(entry)
    assert entry.actor == operator and REASON in entry.message
    cold = Migration.objects.get(workload=off)
    assert cold.override_reason == REASON  # the operator's words, not "Evacuation #n started by ..."
    assert Migration.objects.get(workload=running).override_reason == ""  # no warning, nothing to override


def evacuation_plan_warnings(entry) -> list[str]:
    warnings = entry.after["warnings"]
    assert warnings and all(isinstance(w, str) for w in warnings)
    return warnings


def test_a_plan_without_warnings_needs_no_reason(operator):
    topo = factories.topology()
    factories.workload(topo.ca_hosts[0], memory_gib=2, segment=topo.stretched)
    assert not evacuation_plan(host=topo.ca_hosts[0]).warnings
    assert host_evacuate(host=topo.ca_hosts[0], user=operator).override_reason == ""


def test_the_confirm_page_asks_for_the_reason_and_refuses_a_blank_one(warned, operator_client):
    _, source, _, off = warned
    url = f"/capacity/hosts/{source.pk}/evacuate/"
    page = operator_client.get(url).content.decode()
    assert 'id="plan-warnings"' in page and "moved cold" in page and 'name="override_reason"' in page
    response = operator_client.post(url, {"override_reason": "  "})
    assert response.status_code == 200
    text = response.content.decode()
    assert 'id="override-reason-error"' in text and "write why they are acceptable" in text
    assert not Evacuation.objects.exists()
    response = operator_client.post(url, {"override_reason": REASON})
    evacuation = Evacuation.objects.get()
    assert response.status_code == 302 and response["Location"] == evacuation.get_absolute_url()
    assert evacuation.override_reason == REASON
    assert REASON in operator_client.get(response["Location"]).content.decode()


def test_the_api_requires_override_reason_when_there_are_warnings(warned, operator_client):
    _, source, _, off = warned
    preview = operator_client.post("/api/capacity/evacuations/preview/", {"host": source.pk}, "application/json")
    assert preview.status_code == 200 and preview.json()["warnings"]
    refused = operator_client.post("/api/capacity/evacuations/", {"host": source.pk}, "application/json")
    assert refused.status_code == 400
    assert refused.json()["warnings"] == preview.json()["warnings"]
    assert "override reason" in refused.json()["errors"][0]
    assert not Evacuation.objects.exists()
    started = operator_client.post(
        "/api/capacity/evacuations/", {"host": source.pk, "override_reason": REASON}, "application/json"
    )
    assert started.status_code == 201, started.content
    assert Evacuation.objects.get().override_reason == REASON


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_in_a_browser_the_operator_writes_the_reason_at_confirm_time(page, live_server_url, operator):
    topo = factories.topology()
    source = topo.ca_hosts[0]
    factories.workload(source, name="web-01", memory_gib=2, segment=topo.stretched)
    factories.workload(source, name="batch-07", memory_gib=2, segment=topo.stretched, power_state=PowerState.OFF)
    browser_login(page, live_server_url, operator.username)
    page.goto(f"{live_server_url}/capacity/hosts/{source.pk}/evacuate/")
    page.wait_for_selector("#plan-warnings")
    assert "batch-07" in page.locator("#plan-warnings").inner_text()
    assert page.locator("#id_override_reason").get_attribute("required") is not None
    # Only spaces: the browser lets it through (the field is not empty), the server refuses it.
    page.fill("#id_override_reason", "   ")
    page.click("#confirm-evacuation")
    page.wait_for_selector("#override-reason-error")
    screenshot(page, "capacity-evacuate-confirm-reason-required")
    assert "write why they are acceptable" in page.locator("#override-reason-error").inner_text()
    assert not Evacuation.objects.exists()
    page.fill("#id_override_reason", REASON)
    screenshot(page, "capacity-evacuate-confirm-reason-written")
    page.click("#confirm-evacuation")
    page.wait_for_selector("#evac-override")
    screenshot(page, "capacity-evacuation-with-reason")
    assert REASON in page.locator("#evac-override").inner_text()
    assert Evacuation.objects.get().override_reason == REASON
    assert page.console_errors == []
