"""A real browser: start a migration through the wizard and watch it live, reloading half-way."""

import re

import pytest

from inventory.models import Workload
from migration.models import Migration
from tests import factories
from tests.conftest import browser_login, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_wizard_starts_migration_and_live_page_reaches_completed(live_server_url, celery_worker, page):
    make_user("otto", group="operators")
    topo = factories.topology()
    # The server runs at the test SIMULATION_SPEED (1000x): a big guest on 1 GbE NICs takes a few seconds.
    src = factories.host(topo.ca_cluster, "ca-1g-src", nic_gbps=1, memory_gib=1024)
    dst = factories.host(topo.ca_cluster, "ca-1g-dst", nic_gbps=1, memory_gib=1024)
    topo.ca_datastore.hosts.add(src, dst)
    vm = factories.workload(src, name="billing-db", memory_gib=512, dirty_rate_bps=60_000_000, vcpus=8)
    Workload.objects.filter(pk=vm.pk).update(working_set_bytes=64 * 2**30)

    browser_login(page, live_server_url, "otto")
    page.goto(f"{live_server_url}/migrations/new/?workload={vm.pk}")
    page.select_option("#id_destination_host", str(dst.pk))
    page.click("#check-button")
    page.wait_for_selector("#prediction")
    predicted_rounds = int(page.text_content("#pred-rounds"))
    assert predicted_rounds >= 3
    # Read like the live page: minutes and seconds, not thousands of seconds.
    assert re.fullmatch(r"\d+ (min \d\d s|h \d\d min)", page.text_content("#pred-total").strip())
    screenshot(page, "migration-wizard-prediction")
    page.click("#start-button")
    page.wait_for_url(re.compile(r"/migrations/\d+/$"))
    migration = Migration.objects.get(workload=vm)

    # Half-way: the page shows pre-copy with rounds on the chart; a reload shows the same state again.
    page.wait_for_function(
        "() => ['precopy','switchover'].includes(document.getElementById('state-badge').dataset.state) "
        "&& Number(document.getElementById('rounds-chart').dataset.points) >= 1",
        timeout=30_000,
    )
    screenshot(page, "migration-live-midway")
    before = Migration.objects.get(pk=migration.pk)
    page.reload()
    page.wait_for_selector("#state-badge")
    state_after_reload = page.get_attribute("#state-badge", "data-state")
    assert state_after_reload in ("precopy", "switchover", "completed")
    if before.state != "completed":
        assert int(page.get_attribute("#rounds-chart", "data-points")) >= before.rounds_count

    page.wait_for_function("() => document.getElementById('state-badge').dataset.state === 'completed'", timeout=60_000)
    migration.refresh_from_db()
    assert migration.state == "completed"
    page.wait_for_function(
        f"() => Number(document.getElementById('rounds-chart').dataset.points) === {migration.rounds_count}",
        timeout=10_000,
    )
    assert page.text_content("#act-rounds").strip() == str(migration.rounds_count)
    assert page.text_content("#act-outcome").strip() == "converged"
    assert "%" in page.text_content("#sent-label") and "100" in page.text_content("#sent-label")
    assert Workload.objects.get(pk=vm.pk).host == dst
    # At the end: the average rate over the migration; memory sent fills its bar at one full copy and says how many.
    assert page.text_content("#stat-rate-label").strip() == "Average transfer rate"
    average = migration.bytes_sent / migration.total_time_s / 1e6  # rates are decimal: MB/s
    assert page.text_content("#stat-rate").strip() == f"{average:.1f} MB/s"
    assert page.get_attribute("#memory-bar > span", "style").replace(" ", "") == "width:100%;"
    assert f"{migration.memory_sent_bytes / migration.memory_bytes:.2f}×" in page.text_content("#memory-label")
    assert page.get_attribute("#rounds-chart", "data-unit") == "GiB"
    assert page.locator("#rounds-chart .ytitle").text_content() == "Sent in the round (GiB)"
    screenshot(page, "migration-live-completed")
    page.goto(f"{live_server_url}/migrations/")
    page.wait_for_selector(f'#migration-table tr[data-id="{migration.pk}"]')
    screenshot(page, "migration-list")
    assert page.console_errors == []
