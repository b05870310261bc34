"""In a real browser: the DR plans list is searched, sorted by a header and exported as CSV with the same rows."""

import csv
import io
from pathlib import Path

import pytest

from tests.conftest import browser_login, screenshot
from tests.migration.dr.test_lists import names, plans  # noqa: F401 - the fixture


@pytest.mark.browser
@pytest.mark.integration
@pytest.mark.usefixtures("plans")
def test_search_sort_and_export_the_plans(page, live_server_url, viewer):
    browser_login(page, live_server_url, viewer.username)
    page.goto(f"{live_server_url}/dr/")
    assert names(page.content()) == ["Analytics", "Payments", "Web"]
    page.fill("#plan-search-q", "virginia")
    page.click("#plan-search button[type=submit]")
    page.wait_for_url("**/dr/?q=virginia")
    assert names(page.content()) == ["Payments", "Web"]
    page.click("#plan-table th >> text=Workloads")
    page.click("#plan-table th >> text=Workloads")  # a second click reverses the sort
    page.wait_for_url("**ordering=-workloads**")
    assert names(page.content()) == ["Payments", "Web"]
    assert page.get_attribute("#plan-table th[aria-sort]", "aria-sort") == "descending"
    screenshot(page, "dr-plans-searched-sorted")
    with page.expect_download() as download:
        page.click("#plan-search [data-export-csv]")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert [r["name"] for r in csv.DictReader(io.StringIO(text))] == ["Payments", "Web"]
