"""The overview and the workloads page on the demo data, in a real Chromium against a real ASGI server."""

import re

import pytest
from django.core.management import call_command

from inventory.models import Workload
from tests.conftest import browser_login, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_overview_and_workloads_on_the_demo_cloud(live_server_url, page):
    call_command("seed_demo")
    make_user("ivan", group="operators")
    browser_login(page, live_server_url, "ivan")

    # Overview: the topology and the three capacity charts render as Plotly SVG.
    page.goto(live_server_url + "/")
    for chart in ("#topology-chart", "#capacity-vcpus", "#capacity-memory", "#capacity-storage", "#overview-heatmap"):
        page.wait_for_selector(f"{chart}.js-plotly-plot .main-svg")
    topology = page.locator("#topology-chart").inner_text()
    assert "65 ms · 10 Gbit/s" in topology and "2 ms · 5 Gbit/s" in topology
    assert page.locator("#topology-chart .point").count() == 4  # one marker per site
    assert page.locator("#capacity-memory .bars .point").count() == 8  # used + free for 4 sites
    assert int(page.locator("#stat-container-vms .value").inner_text()) > 0
    screenshot(page, "inventory-01-overview")

    # Workloads: 50 rows of VMs and container-VMs, then only container-VMs through the filter form.
    page.click("nav.mainnav >> text=Workloads")
    page.wait_for_selector("#workloads-table tbody tr")
    assert page.locator("#workloads-table tbody tr").count() == 50
    kinds = set(page.locator("#workloads-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.kind)"))
    assert kinds <= {"vm", "container_vm"}
    assert f"{Workload.objects.count()} workloads." in page.locator(".page-head").inner_text()
    screenshot(page, "inventory-02-workloads")

    page.select_option("#f-kind", "container_vm")
    page.click("#workload-filters button[type=submit]")
    page.wait_for_url(re.compile(r"kind=container_vm"))
    rows = page.locator("#workloads-table tbody tr")
    assert set(rows.evaluate_all("rows => rows.map(r => r.dataset.kind)")) == {"container_vm"}
    screenshot(page, "inventory-03-container-vms")

    # Sort by memory, largest first, then open the first container-VM.
    page.click("#workloads-table th >> text=Memory")
    page.click("#workloads-table th >> text=Memory")
    page.wait_for_url(re.compile(r"ordering=-memory"))
    assert "kind=container_vm" in page.url
    first = rows.first.locator("a.wl-name")
    name = first.inner_text()
    first.click()
    page.wait_for_selector("h1")
    assert name in page.locator("h1").inner_text()
    assert "Container-VM" in page.locator("h1").inner_text()
    assert page.locator("#migrate-button").is_visible()
    screenshot(page, "inventory-04-container-vm-detail")

    # And its host, with capacity bars and its workloads.
    page.click("dl.props >> a[href^='/hosts/']")
    page.wait_for_selector(".bar")
    assert name in page.locator("table.workloads").inner_text()
    screenshot(page, "inventory-05-host")
    assert page.console_errors == []
