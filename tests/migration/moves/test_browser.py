"""A real browser: tick workloads, take every match of the filter, pre-check them all at once, start the group and
watch it live to the end; a scheduled group on the calendar, edited and cancelled from the page."""

import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from migration.models import Migration
from migration.moves.models import MoveGroup
from migration.moves.services import move_group_create
from migration.moves.tasks import move_groups_tick
from tests import factories
from tests.conftest import browser_login, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_move_selected_all_matching_prechecks_and_the_live_group_page(live_server_url, celery_worker, page):
    make_user("otto", group="operators")
    topo = factories.topology()
    source = topo.ca_hosts[0]
    for n in range(54):
        factories.workload(source, name=f"web-{n:02d}", memory_gib=1, segment=topo.stretched)
    factories.workload(source, name="huge-db", vcpus=64, memory_gib=1, segment=topo.stretched)  # 32 cores there
    factories.workload(topo.ca_hosts[1], name="elsewhere", memory_gib=1, segment=topo.stretched)

    browser_login(page, live_server_url, "otto")
    page.console_errors.clear()  # from here on: this feature's pages only
    page.goto(f"{live_server_url}/workloads/?host={source.pk}")
    boxes = page.locator("input.select-row")
    assert boxes.count() == 50  # the first page of the 55 matches
    boxes.nth(0).check()
    boxes.nth(1).check()
    assert page.text_content("#selection-count").startswith("2 selected")
    screenshot(page, "moves-workloads-ticked")
    page.click("#select-all-matching")
    assert "55 selected (every workload matching this filter)" in page.text_content("#selection-count")
    page.click("#move-selected")
    page.wait_for_url(re.compile(r"/moves/new/\?all=1"))
    assert page.text_content("h1").strip() == "Move 55 workloads"

    page.fill("#id_name", "Rack 4 to host 2")
    page.select_option("#id_destination_host", str(topo.ca_hosts[1].pk))
    page.fill("#id_concurrency", "6")
    page.click("#check-button")
    page.wait_for_selector("#precheck-counts")
    assert "54 ready" in page.text_content("#precheck-counts") and "1 cannot move" in page.text_content(
        "#precheck-counts"
    )
    assert "huge-db has 64 vCPUs" in page.text_content(".precheck-error")
    screenshot(page, "moves-confirm-prechecks")
    page.click("#create-button")  # without leaving out huge-db: refused, saying why
    page.wait_for_selector("#form-errors")
    assert "1 of the 55 workloads cannot move" in page.text_content("#form-errors")
    assert MoveGroup.objects.count() == 0
    page.check("#id_leave_out_blocked")
    page.click("#create-button")
    page.wait_for_url(re.compile(r"/moves/\d+/$"))
    group = MoveGroup.objects.get()
    assert group.members.count() == 54 and Migration.objects.filter(workload__name="huge-db").count() == 0

    # Live: the beat's tick (called here every half second, as beat would every 5 s) feeds the group 6 at a time.
    deadline = time.monotonic() + 120
    most = 0
    while time.monotonic() < deadline:
        move_groups_tick.delay()
        most = max(most, Migration.objects.filter(state__in=("queued", "prechecks", "precopy", "switchover")).count())
        if page.get_attribute("#group-state", "data-state") == "completed":
            break
        if 0 < Migration.objects.filter(state="completed").count() < 54 and most >= 6:
            screenshot(page, "moves-group-midway")
        page.wait_for_timeout(500)
    assert page.get_attribute("#group-state", "data-state") == "completed"
    assert most <= 6
    assert page.text_content("#group-percent").strip() == "100 %"
    assert "54 completed" in page.text_content("#group-counts")
    assert Migration.objects.filter(state="completed").count() == 54
    screenshot(page, "moves-group-completed")
    assert not page.console_errors


def test_a_scheduled_group_on_the_calendar_is_edited_then_cancelled(live_server_url, page):
    otto = make_user("otto", group="operators")
    topo = factories.topology()
    ws = [factories.workload(topo.ca_hosts[0], memory_gib=1, segment=topo.stretched) for _ in range(3)]
    start = timezone.now() + timedelta(days=1)
    group = move_group_create(
        name="Saturday wave", workloads=ws, destination_host=topo.ca_hosts[1], start_at=start,
        window_start=start + timedelta(hours=1), window_end=start + timedelta(hours=3), on_window_close="switchover",
        by=otto,
    )  # fmt: skip
    browser_login(page, live_server_url, "otto")
    page.goto(f"{live_server_url}/moves/")
    row = page.locator(f'tr[data-group="{group.pk}"]')
    assert "Saturday wave" in row.text_content() and "switch over anyway" in row.text_content()
    screenshot(page, "moves-calendar")
    row.locator("a.btn", has_text="Edit").click()
    page.wait_for_selector("#schedule-form")
    later = timezone.localtime(start + timedelta(hours=2))
    page.fill("#id_start_at", later.strftime("%Y-%m-%dT%H:%M"))
    page.click("#save-schedule")
    page.wait_for_url(re.compile(r"/moves/$"))
    group.refresh_from_db()
    assert timezone.localtime(group.start_at).strftime("%H:%M") == later.strftime("%H:%M")
    page.locator(f'tr[data-group="{group.pk}"] button', has_text="Cancel").click()
    page.wait_for_url(re.compile(rf"/moves/{group.pk}/$"))
    assert "Cancelled" in page.text_content("#group-state")
    group.refresh_from_db()
    assert group.state == "cancelled" and Migration.objects.count() == 0
    screenshot(page, "moves-group-cancelled")
