"""In a real browser: the containers page's images and the capacity page's recommendations are searched, sorted by a
header (a second click reverses it) and exported as CSV with exactly the rows on screen, in their order."""

import csv
import io
from pathlib import Path

import pytest

from tests.conftest import browser_login, screenshot
from tests.platform.test_list_pages import lists  # noqa: F401 - the fixture


def _export(page, form: str, column: str) -> list[str]:
    with page.expect_download() as download:
        page.click(f"{form} [data-export-csv]")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    return [row[column] for row in csv.DictReader(io.StringIO(text))]


def _search_and_sort(page, *, form: str, field: str, text: str, table: str, header: str) -> None:
    page.fill(f"{form} #{field}", text)
    page.click(f"{form} button[type=submit]")
    page.wait_for_url(f"**{field.split('-', 2)[-1]}={text}**")
    page.click(f'{table} thead a.sort:text-is("{header}")')
    page.wait_for_selector(f"{table} th[aria-sort=ascending]")
    page.click(f'{table} thead a.sort:text-is("{header}")')  # a second click reverses the sort
    page.wait_for_selector(f"{table} th[aria-sort=descending]")


@pytest.mark.browser
@pytest.mark.integration
@pytest.mark.usefixtures("lists")
def test_search_sort_and_export_images_and_recommendations(page, live_server_url, viewer):
    browser_login(page, live_server_url, viewer.username)

    page.goto(f"{live_server_url}/containers/")
    repositories = "#images tbody tr td:first-child"
    assert page.locator(repositories).all_inner_texts() == ["nginx", "nginx-extra", "redis"]
    _search_and_sort(
        page, form="#image-search", field="image-search-images-q", text="nginx", table="#images", header="Repository"
    )
    assert page.locator(repositories).all_inner_texts() == ["nginx-extra", "nginx"]
    assert page.input_value("#image-search-images-q") == "nginx"  # the sort kept the search
    screenshot(page, "containers-images-searched-sorted")
    assert _export(page, "#image-search", "repository") == ["nginx-extra", "nginx"]

    page.goto(f"{live_server_url}/capacity/")
    proposals = "#recommendation-table tbody td.summary"
    assert page.locator(proposals).all_inner_texts() == ["spread", "move db", "move web"]
    _search_and_sort(
        page, form="#recommendation-search", field="recommendation-search-recommendations-q", text="move",
        table="#recommendation-table", header="#",
    )  # fmt: skip
    assert page.locator(proposals).all_inner_texts() == ["move db", "move web"]
    page.locator("#recommendations").screenshot(path=str(screenshot(page, "capacity-recommendations-searched-sorted")))
    assert _export(page, "#recommendation-search", "proposal") == ["move db", "move web"]
    assert page.console_errors == []
