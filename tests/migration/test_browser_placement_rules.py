"""Tags and placement rules in a real Chromium: the tag filter and chips, the rules page, and a move refused by
the keep-apart rule while placement puts the replica elsewhere, naming the rule."""

import re

import pytest

from inventory.choices import PlacementRuleKind
from inventory.models import PlacementRule, Tag
from tests import factories
from tests.conftest import browser_login, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_tags_rules_page_and_a_move_the_rule_refuses(live_server_url, page):
    topo = factories.topology()
    db = Tag.objects.create(name="db replicas", slug="db-replicas", color="aa1409")
    pci = Tag.objects.create(name="PCI", slug="pci", color="ffd33d")
    PlacementRule.objects.create(
        name="db-replicas", kind=PlacementRuleKind.KEEP_APART, workload_tag=db, description="Never on one host."
    )
    db1 = factories.workload(topo.va_hosts[0], name="db-1", segment=topo.stretched)
    factories.workload(topo.va_hosts[1], name="batch-1", memory_gib=200, segment=topo.stretched)
    db2 = factories.workload(topo.ca_hosts[0], name="db-2", segment=topo.stretched)
    factories.workload(topo.ca_hosts[1], name="web-1", segment=topo.stretched).tags.add(pci)
    db1.tags.add(db, pci)
    db2.tags.add(db)
    make_user("ivan", group="operators")
    browser_login(page, live_server_url, "ivan")

    # Workloads: chips in the tag's colour; the tag filter keeps the two replicas.
    page.goto(live_server_url + "/workloads/")
    page.wait_for_selector("#workloads-table tbody tr")
    assert page.locator("#workloads-table tbody tr").count() == 4
    chip = page.locator("#workloads-table a.tag-chip", has_text="db replicas").first
    assert chip.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(170, 20, 9)"
    page.select_option("#f-tag", "db-replicas")
    page.click("#workload-filters button[type=submit]")
    page.wait_for_url(re.compile(r"tag=db-replicas"))
    names = page.locator("#workloads-table a.wl-name").all_inner_texts()
    assert names == ["db-1", "db-2"]
    screenshot(page, "placement-01-workloads-by-tag")

    # The rules page: members and where they run, kept now.
    page.click("#placement-rules")
    page.wait_for_selector("#rules-table")
    row = page.locator("#rules-table tr[data-rule='db-replicas']")
    assert "db-1 on va-esx-01" in row.inner_text() and "db-2 on ca-esx-01" in row.inner_text()
    assert row.locator(".rule-now .badge").inner_text() == "kept"
    screenshot(page, "placement-02-rules")

    # Moving db-2 onto db-1's host: refused by the rule, named.
    page.goto(f"{live_server_url}/migrations/new/?workload={db2.pk}")
    page.select_option("#id_destination_host", str(topo.va_hosts[0].pk))
    page.click("#check-button")
    page.wait_for_selector("#precheck-results")
    errors = page.locator(".precheck-error").all_inner_texts()
    assert "keep-apart rule 'db-replicas' puts db-2 off va-esx-01, where db-1 runs." in errors
    assert page.locator("#start-button").count() == 0
    screenshot(page, "placement-03-precheck-refused")

    # To the site instead: placement takes the other host (the roomier one holds db-1) and says which rule decided.
    page.select_option("#id_destination_host", "")
    page.select_option("#id_destination_site", str(topo.va.pk))
    page.click("#check-button")
    page.wait_for_selector("#placement-reason")
    reason = page.locator("#placement-reason").inner_text()
    assert reason.startswith("Placed on va-esx-02")
    assert "keep-apart rule 'db-replicas' puts db-2 off va-esx-01, where db-1 runs." in reason
    assert page.locator(".precheck-error").count() == 0
    # va-esx-02 is the only Virginia host that keeps the rule for db-2: a warning, named.
    assert "keep-apart rule 'db-replicas' is at risk: va-esx-02" in page.locator("#precheck-results").inner_text()
    screenshot(page, "placement-04-placed-by-rule")
