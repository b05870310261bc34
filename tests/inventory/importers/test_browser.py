"""In a real browser, with a real Celery worker: an operator imports the demo's RVTools example (the datacenters
land on the demo's sites), watches a larger import's progress bar move, reads the summary, and sees a broken file
refused with its problems; a viewer is refused the page."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from hybridcloud.core.models import AuditEntry
from inventory.choices import EstateImportStatus
from inventory.importers.samples import synthetic_sample, tabs_to_xlsx
from inventory.models import EstateImport, Site, Workload
from tests.conftest import browser_login, screenshot
from tests.inventory.importers.builders import cell, small_estate


@pytest.mark.browser
@pytest.mark.integration
def test_operator_imports_the_demo_example_watches_progress_and_reads_the_summary(
    page, live_server_url, celery_worker, operator, viewer, tmp_path
):
    call_command("seed_demo", workloads=20, no_extensions=True, verbosity=0)
    california, virginia = Site.objects.get(name="California DC"), Site.objects.get(name="Virginia DC")
    before = Workload.objects.count()

    browser_login(page, live_server_url, operator.username)
    page.goto(live_server_url + "/workloads/")
    page.click("#import-rvtools")
    page.wait_for_selector("#upload-form")
    screenshot(page, "rvtools-upload")
    page.click("#import-demo")
    # One choice per datacenter, the demo's sites already chosen (same names).
    page.wait_for_selector("#sites-form")
    selects = page.locator("#sites-form select")
    assert selects.count() == 2
    assert [selects.nth(i).input_value() for i in range(2)] == [str(california.pk), str(virginia.pk)]
    screenshot(page, "rvtools-choose-sites")
    page.click("#start-import")
    page.wait_for_selector("#import-summary", timeout=60_000)
    assert page.locator("#import-status").inner_text() == "Imported"
    assert page.locator("#import-headline").inner_text() == (
        "46 changes: added 2 clusters, 6 hosts, 2 datastores, 36 workloads"
    )
    assert "web-stretched (California DC)" in page.locator("#segments-joined").inner_text()
    counts = page.locator("#import-counts tbody tr").all_inner_texts()
    assert any(row.startswith("Workloads\t36\t0\t0\t0") for row in counts), counts
    assert "Database: 50 MB/s" in page.locator("#import-assumptions").inner_text()
    screenshot(page, "rvtools-demo-imported")
    assert Workload.objects.count() == before + 36
    assert Workload.objects.filter(estate__isnull=False, host__cluster__site=california).count() == 18
    assert AuditEntry.objects.filter(action="inventory.import").count() == 1
    page.click("#estate-workloads")
    page.wait_for_selector("#workloads-table")
    assert "36 workloads match the filters" in page.locator("#workload-count").inner_text()  # its estate
    screenshot(page, "rvtools-demo-workloads")

    # A larger export: the bar moves while the worker reads it, then the summary.
    big = tmp_path / "big-estate.xlsx"
    big.write_bytes(tabs_to_xlsx(synthetic_sample(vms=4000).tabs()))
    page.goto(live_server_url + "/imports/")
    page.set_input_files("#id_file", str(big))
    page.fill("#id_estate_name", "Bench estate")
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#sites-form")
    page.click("#start-import")
    page.wait_for_function(
        "() => { const b = document.getElementById('import-bar'); const v = b && +b.getAttribute('aria-valuenow');"
        " return v > 0 && v < 100; }",
        timeout=60_000,
    )
    screenshot(page, "rvtools-import-progress")
    page.wait_for_selector("#import-summary", timeout=120_000)
    assert "4000 workloads" in page.locator("#import-headline").inner_text()
    screenshot(page, "rvtools-big-imported")

    # A broken file: refused whole, its problems listed with tab, row and column; nothing changed.
    tabs = small_estate().tabs()
    cell(tabs, "vInfo", 2, "CPUs", "eight")
    cell(tabs, "vInfo", 3, "Host", "esx-nowhere")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(tabs_to_xlsx(tabs))
    count = Workload.objects.count()
    page.goto(live_server_url + "/imports/")
    page.set_input_files("#id_file", str(broken))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#sites-form")
    page.click("#start-import")
    page.wait_for_selector("#import-errors", timeout=60_000)
    errors = page.locator("#import-errors").inner_text()
    assert "vInfo row 2, column 'CPUs': 'eight' is not a number" in errors
    assert "vInfo row 3, column 'Host': host 'esx-nowhere' is not in vHost" in errors
    assert page.locator("#import-status").inner_text() == "Refused"
    screenshot(page, "rvtools-refused")
    assert Workload.objects.count() == count
    assert EstateImport.objects.filter(status=EstateImportStatus.REFUSED).count() == 1
    assert not page.console_errors, page.console_errors

    # Viewers may not import.
    page.context.clear_cookies()
    browser_login(page, live_server_url, viewer.username)
    response = page.goto(live_server_url + "/imports/")
    assert response.status == 403
