"""In a real browser: open a plan, run a drill, watch it complete live, open its report and the trend chart."""

import os

import pytest

from migration.dr import runner, services
from tests.conftest import browser_login, screenshot, start_celery_worker
from tests.migration.dr.builders import demo_plan


@pytest.fixture
def paced_worker(transactional_db):
    """A worker at 20× simulated speed, so a drill takes a few seconds and can be watched."""
    previous = os.environ.get("SIMULATION_SPEED")
    os.environ["SIMULATION_SPEED"] = "20"
    try:
        worker = start_celery_worker("dr-browser")
    finally:
        if previous is None:
            os.environ.pop("SIMULATION_SPEED", None)
        else:
            os.environ["SIMULATION_SPEED"] = previous
    yield worker
    worker.stop()


@pytest.mark.browser
@pytest.mark.integration
def test_operator_runs_a_drill_and_watches_it_live(page, live_server_url, operator, paced_worker):
    setup = demo_plan(target_rto_s=900)
    for _ in range(3):  # earlier drills, so the trend has points
        run = services.drill_start(plan=setup.plan, enqueue=False)
        runner.drill_execute(run_id=run.pk, pace=False)
    browser_login(page, live_server_url, "otto")

    page.goto(f"{live_server_url}/dr/")
    page.wait_for_selector("#plan-table")
    screenshot(page, "dr-plans")

    page.click("text=California → Virginia")
    page.wait_for_selector("#rto-trend .main-svg")
    screenshot(page, "dr-plan")

    page.click("#run-drill")
    page.wait_for_url("**/dr/drills/*/")
    # Steps appear and change state while the page stays put: pushed over the websocket.
    page.wait_for_selector("ol.steps li.step[data-state=running]", timeout=30_000)
    page.wait_for_selector("ol.steps li.step[data-state=done]", timeout=30_000)
    assert not page.is_visible("#report-link")  # no report before the drill ends
    screenshot(page, "dr-drill-running")
    page.wait_for_selector("body[data-drill-state=completed]", timeout=60_000)
    assert page.locator("ol.steps li.step[data-state=done]").count() == 6
    assert page.inner_text("#stat-verdict") == "RTO met"
    assert page.inner_text("#stat-up") == "7 / 7"
    assert page.is_visible("#report-link") and not page.is_visible("#cancel-form")
    screenshot(page, "dr-drill-completed")

    page.click("#report-link")
    page.wait_for_selector("#timeline .main-svg")
    assert "Drill report" in page.inner_text("h1")
    assert page.locator("#step-table tbody tr").count() == 6
    assert page.locator("#result-table tbody tr").count() == 7
    screenshot(page, "dr-report")

    page.goto(f"{live_server_url}/dr/plans/{setup.plan.pk}/")
    page.wait_for_selector("#rto-trend .main-svg")
    assert page.locator("#rto-trend .scatterlayer .trace").count() == 2  # measured RTO and the target
    assert page.locator("#drill-table tbody tr").count() == 4
    screenshot(page, "dr-trend")
    assert page.console_errors == []
