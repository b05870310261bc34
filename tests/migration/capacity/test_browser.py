"""In a real browser: the capacity charts, applying a recommendation, watching an evacuation wave to its end."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from inventory.choices import HostState
from inventory.models import Host
from migration.capacity.models import CapacitySettings
from migration.capacity.planning import next_peak
from migration.capacity.sampling import backfill
from migration.capacity.services.recommendations import recommendations_compute
from tests import factories
from tests.conftest import browser_login, screenshot


@pytest.mark.browser
def test_operator_views_charts_applies_a_recommendation_and_watches_an_evacuation(
    page, live_server_url, celery_worker, operator
):
    topo = factories.topology()
    CapacitySettings.objects.update_or_create(pk=1, defaults={"seed": 5})
    for i in range(8):
        factories.workload(topo.ca_hosts[0], vcpus=16, memory_gib=16 + 4 * i, segment=topo.stretched)
    for _ in range(3):
        factories.workload(topo.va_hosts[0], memory_gib=2, segment=topo.stretched)
    backfill(days=7)
    rec = recommendations_compute(site=topo.ca, at=next_peak(topo.ca.longitude, datetime(2025, 3, 12, tzinfo=UTC)))[0]

    browser_login(page, live_server_url, operator.username)
    page.goto(live_server_url + "/capacity/?range=7d")
    page.wait_for_selector("#host-heatmap .main-svg")
    page.wait_for_selector(".site-chart .main-svg")
    assert page.locator(".mainnav a[aria-current=page]").inner_text() == "Capacity"
    screenshot(page, "capacity-overview")

    page.goto(live_server_url + rec.get_absolute_url())
    screenshot(page, "capacity-recommendation")
    if page.locator("#override-reason").count():  # moves with pre-check warnings need the operator's reason
        page.fill("#override-reason", "Relieves the hot host before its peak.")
    page.click("#apply-rec")
    page.wait_for_selector(".message")
    assert "started" in page.locator(".message").first.inner_text()
    assert page.locator("#rec-state").inner_text() == "Applied"

    page.goto(live_server_url + f"/capacity/hosts/{topo.va_hosts[0].pk}/")
    page.wait_for_selector("#host-chart .main-svg")
    screenshot(page, "capacity-host")
    page.click("#evacuate-host")
    page.wait_for_selector("#makespan")
    screenshot(page, "capacity-evacuate-confirm")
    page.click("#confirm-evacuation")
    page.wait_for_selector("#evac-items tbody tr")
    screenshot(page, "capacity-evacuation-running")
    page.wait_for_selector("#evac-state.badge.green", timeout=60_000)
    assert page.locator("#evac-state").inner_text() == "Completed"
    # Every workload on the host moved (three of ours, plus any the recommendation just placed there).
    moved = page.locator("#evac-items tbody tr[data-state=moved]").count()
    assert moved >= 3 and moved == page.locator("#evac-items tbody tr").count()
    screenshot(page, "capacity-evacuation-done")
    assert Host.objects.get(pk=topo.va_hosts[0].pk).state == HostState.MAINTENANCE
    assert page.console_errors == []
