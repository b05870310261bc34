"""The rules page and the tag chips and filter on the workloads and host pages."""

import pytest

from inventory.choices import PlacementRuleKind
from inventory.models import PlacementRule, Tag
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def stacked():
    """Two database replicas on one host, kept apart by a rule: the rule is broken now."""
    topo = factories.topology()
    tag = Tag.objects.create(name="db replicas", slug="db-replicas", color="aa1409")
    PlacementRule.objects.create(name="db-replicas", kind=PlacementRuleKind.KEEP_APART, workload_tag=tag)
    for name in ("db-1", "db-2"):
        factories.workload(topo.ca_hosts[0], name=name).tags.add(tag)
    factories.workload(topo.ca_hosts[1], name="web-1")
    licensed = Tag.objects.create(name="licensed", slug="licensed", color="ffd33d")
    topo.va_hosts[0].tags.add(licensed)
    return topo, tag, licensed


def test_rules_page_shows_members_where_they_run_and_what_breaks_the_rule(stacked, viewer_client):
    html = viewer_client.get("/placement-rules/").content.decode()
    assert "db-replicas" in html and "on ca-esx-01" in html
    assert "keep-apart rule &#x27;db-replicas&#x27; puts db-2 off ca-esx-01, where db-1 runs." in html
    assert 'id="rule-add"' not in html  # viewers do not edit rules
    assert "No rule uses this tag." in viewer_client.get("/placement-rules/?tag=licensed").content.decode()
    assert "No tag has the slug" in viewer_client.get("/placement-rules/?tag=nope").content.decode()


def test_workloads_page_filters_by_tag_and_shows_chips(stacked, viewer_client):
    html = viewer_client.get("/workloads/?tag=db-replicas").content.decode()
    assert "db-1" in html and "db-2" in html and "web-1" not in html
    assert 'class="tag-chip" href="/workloads/?tag=db-replicas"' in html
    assert 'style="background:#aa1409;color:#ffffff"' in html
    assert '<option value="db-replicas" selected>' in html


def test_host_pages_show_their_tags(stacked, viewer_client):
    topo, tag, licensed = stacked
    html = viewer_client.get(f"/hosts/{topo.va_hosts[0].pk}/").content.decode()
    assert 'href="/placement-rules/?tag=licensed"' in html and "color:#000000" in html
    site = viewer_client.get(f"/sites/{topo.va.pk}/").content.decode()
    assert site.count('href="/placement-rules/?tag=licensed"') == 1


def test_rules_page_searches_sorts_and_exports_with_what_breaks_each_rule(stacked, viewer_client):
    topo, tag, licensed = stacked
    PlacementRule.objects.create(name="licensed-only", kind=PlacementRuleKind.PIN_TO_HOSTS, host_tag=licensed)
    PlacementRule.objects.create(name="old", kind=PlacementRuleKind.KEEP_APART, workload_tag=tag, enabled=False)
    html = viewer_client.get("/placement-rules/?ordering=-rule").content.decode()
    assert (
        html.index('data-rule="old"') < html.index('data-rule="licensed-only"') < html.index('data-rule="db-replicas"')
    )
    assert 'aria-sort="descending"' in html and 'class="muted"' in html  # the disabled rule is greyed
    export = viewer_client.get("/placement-rules/?q=db&export=csv")
    rows = b"".join(export.streaming_content).decode().splitlines()
    assert rows[0] == "rule,kind,members,host_group,now"
    assert len(rows) == 2 and rows[1].startswith("db-replicas,keep_apart,") and "puts db-2 off ca-esx-01" in rows[1]
    assert "va-esx-01" in viewer_client.get("/placement-rules/?kind=pin_to_hosts").content.decode()
    assert viewer_client.get("/placement-rules/?ordering=nope&kind=bogus").status_code == 200
