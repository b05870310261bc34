"""Real processes: a Celery worker computes what the API queues; in a real browser, an operator assesses moving the
demo's California site to Virginia and to a public region, then compares the two."""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command

from inventory.models import Site
from migration.assessment.models import Assessment
from tests.conftest import ARTIFACTS, browser_login, screenshot


def section(page, selector: str, name: str) -> None:
    """A screenshot of one part of the page (the full page is too tall to read at once)."""
    page.locator(selector).screenshot(path=str(ARTIFACTS / "screenshots" / f"{name}.png"))


def wait_done(pk: int, timeout: float = 90.0) -> Assessment:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        a = Assessment.objects.get(pk=pk)
        if a.status in ("done", "failed"):
            return a
        time.sleep(0.2)
    raise AssertionError(f"assessment {pk} still {a.status} after {timeout:.0f} s")


@pytest.mark.integration
def test_the_api_queues_and_a_real_worker_computes_with_progress(celery_worker, client, operator):
    call_command("seed_demo", workloads=120, no_extensions=True, verbosity=0)
    ca, va = Site.objects.get(name="California DC"), Site.objects.get(name="Virginia DC")
    client.force_login(operator)
    response = client.post(
        "/api/assessments/", {"scope": {"kind": "site", "site": ca.pk}, "destination": va.pk}, "application/json"
    )
    assert response.status_code == 201
    pk = response.json()["id"]
    a = wait_done(pk)
    assert a.status == "done", a.error
    assert a.progress_total == a.progress_done == a.rows.count() == a.summary["workloads"] > 0
    detail = client.get(f"/api/assessments/{pk}/").json()
    assert detail["status"] == "done" and len(detail["rows"]) == a.summary["workloads"]


@pytest.mark.browser
def test_operator_assesses_california_to_virginia_and_to_a_public_region(page, live_server_url, celery_worker,
                                                                          operator):  # fmt: skip
    call_command("seed_demo", workloads=150, no_extensions=True, verbosity=0)
    ca = Site.objects.get(name="California DC")
    browser_login(page, live_server_url, operator.username)

    # From the workloads page filtered to California: "Assess moving these" carries the filter.
    page.goto(live_server_url + f"/workloads/?site={ca.pk}")
    page.click("#assess-these")
    page.wait_for_selector("#assessment-form")
    assert page.locator("#id_scope_kind").input_value() == "filter"
    assert page.locator("#id_scope_query").input_value() == f"site={ca.pk}"
    page.select_option("#id_destination", label="Virginia DC")
    page.fill("#id_name", "California to Virginia")
    page.fill("#id_window_hours", "8")
    screenshot(page, "assessment-new")
    page.click("#start-assessment")
    page.wait_for_selector("#assessment-status")
    virginia = Assessment.objects.get(name="California to Virginia")
    page.wait_for_selector("#gantt .main-svg", timeout=90_000)
    page.wait_for_selector("#histogram .main-svg")
    assert page.locator("#assessment-status").inner_text() == "Done"
    assert "physical bound" in page.locator("#stat-makespan").locator("..").inner_text()
    assert page.locator("#assessment-rows tbody tr").count() == min(100, virginia.rows.count())
    assert not page.console_errors, page.console_errors
    screenshot(page, "assessment-california-virginia")
    page.set_viewport_size({"width": 1440, "height": 1100})
    page.screenshot(path=str(ARTIFACTS / "screenshots" / "assessment-california-virginia-top.png"))
    section(page, "#assumptions", "assessment-california-virginia-assumptions")
    page.locator("#assessment-rows tbody tr").nth(12).scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "screenshots" / "assessment-california-virginia-rows.png"))

    # Edit an assumption and re-run: a new assessment, based on the first, with every database at 400 MB/s.
    page.fill("#dirty-database", "400")
    page.click("#rerun")
    page.wait_for_selector(".message")
    page.wait_for_selector("#gantt .main-svg", timeout=90_000)
    rerun = Assessment.objects.get(based_on=virginia)
    assert rerun.status == "done" and rerun.overrides == {"dirty_rate_bps": {"database": 400e6}}
    assert page.locator("#dirty-database").input_value() == "400"
    databases = rerun.rows.filter(dirty_class="database", power_state="on")
    assert databases.exists() and all(r.dirty_rate_bps == 400e6 for r in databases)
    assert rerun.link_note == virginia.link_note
    edited = f"Edited in this assessment: {databases.count()} at 400.0 MB/s mean"
    assert edited in page.locator("#assumptions").inner_text()
    section(page, "#assumptions", "assessment-rerun-assumptions")

    # The same site to a public region, with a hypothetical 1 Gbit/s link and no compression.
    page.goto(live_server_url + "/assessments/new/")
    page.select_option("#id_scope_kind", "site")
    page.select_option("#id_scope_site", label="California DC")
    page.select_option("#id_destination", label="AWS us-west-2")
    page.fill("#id_name", "California to AWS at 1 Gbit/s")
    page.fill("#id_bandwidth_mbit", "1000")
    page.fill("#id_compression_ratio", "1")
    page.click("#start-assessment")
    page.wait_for_selector("#gantt .main-svg", timeout=90_000)
    aws = Assessment.objects.get(name="California to AWS at 1 Gbit/s")
    assert aws.status == "done" and aws.summary["blocked"] > 0  # segments not stretched to AWS
    page.goto(live_server_url + aws.get_absolute_url() + "?mode=blocked")
    assert "not present on AWS us-west-2" in page.locator("#assessment-rows").inner_text()
    screenshot(page, "assessment-california-aws")
    page.locator("#rows").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "screenshots" / "assessment-california-aws-blocked.png"))

    # Side by side.
    page.goto(live_server_url + "/assessments/")
    page.check(f"input[name=ids][value='{virginia.pk}']")
    page.check(f"input[name=ids][value='{aws.pk}']")
    page.click("#compare-selected")
    page.wait_for_selector("#compare-histogram .main-svg")
    table = page.locator("#compare-table").inner_text()
    assert "10 Gbit/s" in table and "1 Gbit/s" in table
    assert not page.console_errors, page.console_errors
    screenshot(page, "assessment-compare")


@pytest.mark.integration
def test_a_killed_worker_midway_is_replaced_and_the_assessment_ends_done_once(transactional_db):
    """The worker killed is the one whose process computes the assessment (the row records its holder); only the
    workers started here consume the queue. Its lease is then expired by hand, standing for the two minutes a
    real one lasts; the new worker's start runs the watchdog, which re-enqueues it."""
    from datetime import timedelta

    from django.utils import timezone

    from hybridcloud.celery import app
    from migration.assessment.services import assessment_create
    from tests.conftest import start_celery_worker
    from tests.reliability.helpers import alive, holder_pid, in_worker, wait_for

    call_command("seed_demo", workloads=4000, no_extensions=True, verbosity=0)
    ca, va = Site.objects.get(name="California DC"), Site.objects.get(name="Virginia DC")
    app.control.purge()
    victim = start_celery_worker("assess-victim", concurrency=1)
    replacement = None
    try:
        a = assessment_create(scope_kind="site", scope_site=ca, destination=va)
        running = wait_for(
            lambda: (x := Assessment.objects.get(pk=a.pk)).status == "running" and x.progress_done > 0 and x,
            timeout=60, interval=0.02, what="the computation to start",
        )  # fmt: skip
        pid = holder_pid(running.holder)
        assert in_worker(pid, victim), running.holder
        victim.kill()
        wait_for(lambda: not alive(pid), timeout=5)
        stuck = Assessment.objects.get(pk=a.pk)
        # Killed before its rows were written (the progress may already read complete: the kill can land between the
        # last progress write and the rows' transaction): still running, nothing half-written.
        assert stuck.status == "running" and not stuck.rows.exists()
        Assessment.objects.filter(pk=a.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
        replacement = start_celery_worker("assess-replacement", concurrency=1)
        done = wait_done(a.pk, timeout=120)
    finally:
        victim.kill()
        if replacement is not None:
            replacement.stop()
    assert done.status == "done", done.error
    assert done.attempts == 2 and holder_pid(done.holder) != pid
    from inventory.models import Workload

    assert done.rows.count() == done.summary["workloads"] == Workload.objects.filter(host__cluster__site=ca).count()
