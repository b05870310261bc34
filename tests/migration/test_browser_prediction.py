"""A real browser, a real worker: the wizard says which limit sets the rate over a long, untuned path; the move runs
through the varying world; its page shows predicted against actual, and the calibration page counts it."""

import re

import pytest

from inventory.choices import LINUX_DEFAULT_TCP_BUFFER_BYTES, Hypervisor
from inventory.models import Host
from migration.models import Migration
from tests import factories
from tests.conftest import browser_login, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_wizard_names_the_window_limit_and_the_live_page_compares_predicted_with_actual(
    live_server_url, celery_worker, page
):
    make_user("otto", group="operators")
    topo = factories.topology()
    # KVM with Linux defaults on both sides of the 65 ms California-Virginia link: one stream, 6 MiB buffers.
    Host.objects.filter(pk__in=[topo.ca_hosts[0].pk, topo.va_hosts[0].pk]).update(
        hypervisor=Hypervisor.KVM, migration_streams=1, migration_socket_buffer_bytes=LINUX_DEFAULT_TCP_BUFFER_BYTES
    )
    vm = factories.workload(
        topo.ca_hosts[0], name="orders-db", segment=topo.stretched, memory_gib=2, disk_gib=1, dirty_rate_bps=30_000_000
    )

    browser_login(page, live_server_url, "otto")
    page.goto(f"{live_server_url}/migrations/new/?workload={vm.pk}")
    page.select_option("#id_destination_host", str(topo.va_hosts[0].pk))
    page.click("#check-button")
    page.wait_for_selector("#rate-limit")
    assert page.get_attribute("#rate-limit", "data-limit") == "window"
    box = page.text_content("#rate-limit")
    assert "set by the TCP window" in box and "1 stream × 6.0 MiB / 65 ms" in box
    assert "Socket buffers of" in page.text_content("#limit-advice")
    assert re.search(r"likely .+ – .+ \(p10–p90\)", page.text_content("#pred-range"))
    assert page.locator('#suggestions tr[data-kind="buffers"]').count() == 1
    screenshot(page, "migration-wizard-window-limit")

    page.fill("#id_override_reason", "The disk moves with it.")
    page.click("#start-button")
    page.wait_for_url(re.compile(r"/migrations/\d+/$"))
    migration = Migration.objects.get(workload=vm)
    page.wait_for_function("() => document.getElementById('state-badge').dataset.state === 'completed'", timeout=90_000)
    migration.refresh_from_db()
    assert migration.state == "completed"
    # Stored: the prediction made before the start and what happened, which is not the prediction replayed.
    assert migration.predicted_p10_s <= migration.predicted_total_time_s <= migration.predicted_p90_s
    assert migration.total_time_s != pytest.approx(migration.predicted_total_time_s, rel=1e-4)
    assert migration.rate_limit == "window"
    # Rendered: the range, whether the actual fell in it, the error, and what set the rate.
    page.wait_for_function("() => document.getElementById('act-error').textContent.includes('%')")
    error = page.text_content("#act-error").strip()
    assert error == f"{100 * migration.prediction_error:+.1f} %"
    verdict = page.text_content("#act-verdict").strip()
    assert verdict == ("inside the range" if migration.within_predicted_range else verdict)
    assert verdict in ("inside the range", "faster than the range", "slower than the range")
    assert "TCP window binds" in page.text_content("#limit-now")
    assert "telemetry" in page.text_content("#prediction-basis")
    screenshot(page, "migration-live-predicted-vs-actual")

    page.goto(f"{live_server_url}/migrations/")
    page.click("#calibration-link")
    page.wait_for_selector("#error-histogram[data-rendered=true]")
    assert page.text_content("#cal-count").strip() == "1"
    assert page.locator("#error-histogram .bars path").count() >= 1
    screenshot(page, "migration-calibration")
    assert page.console_errors == []
