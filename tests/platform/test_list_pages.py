"""Every list converted to a table (hybridcloud.core.lists) searches, sorts and exports through its page: the search
keeps only matching rows, a sorted header is marked and its rows come in that order, and the CSV holds exactly the
filtered, sorted rows (every page of them)."""

import csv
import io
from dataclasses import dataclass

import pytest
from django.utils import timezone

from containers.models import Image
from migration.alarms.models import Alarm, AlarmRule, Delivery, WebhookEndpoint
from migration.capacity.models import Evacuation, Recommendation
from tests import factories


@dataclass(frozen=True)
class Case:
    id: str
    url: str
    prefix: str  # the list's parameter prefix ("" for a page's only list)
    search: str  # matches exactly the rows named in `found`
    found: list[str]  # the CSV's first column for the search, sorted by `ordering`
    ordering: str
    column: str  # the CSV column that `found` names


@pytest.fixture
def lists(db):
    topo = factories.topology()
    for repository, size in (("nginx", 3), ("redis", 1), ("nginx-extra", 2)):
        Image.objects.create(repository=repository, tag="1", digest="sha256:" + f"{size:064x}", size_bytes=size << 20)
    now = timezone.now()
    for host, summary in ((topo.ca_hosts[0], "move web"), (topo.ca_hosts[1], "move db"), (topo.va_hosts[0], "spread")):
        Recommendation.objects.create(
            scope="host", site=host.cluster.site, host=host, basis_at=now, threshold_cpu_pct=80, threshold_mem_pct=80,
            summary=summary,
        )  # fmt: skip
    for host in topo.ca_hosts[:2]:
        Evacuation.objects.create(scope="host", host=host, site=topo.ca)
    # The seeded rules (a data migration); a transactional test (the browser's) starts with none, so it makes one.
    rule = AlarmRule.objects.order_by("pk").first() or AlarmRule.objects.create(
        name="Migration failed", kind="migration_failed", severity="warning"
    )
    to = ("ops@example.com", "db@example.com", "ops-night@example.com")
    for i, message in enumerate(("Link loss on ca-va", "CPU hot", "Link loss on va-far")):
        host = topo.ca_hosts[i % 2]
        alarm = Alarm.objects.create(
            rule=rule, key=f"k{i}", object_type="host", object_id=host.pk, object_name=host.name, severity="warning",
            message=message, first_seen=now, last_seen=now, state="active" if i else "cleared",
        )  # fmt: skip
        Delivery.objects.create(alarm=alarm, channel="email", recipients=to[i], status="delivered", attempts=1)
    for name, url in (("pager", "https://pager.example.com/h"), ("chat", "https://chat.example.com/ops"),
                      ("pager-backup", "https://pager2.example.com/h")):  # fmt: skip
        WebhookEndpoint.objects.create(name=name, url=url).rules.add(rule)
    return topo


CASES = [
    Case("images", "/containers/", "images-", "nginx", ["nginx-extra", "nginx"], "-repository", "repository"),
    Case("recommendations", "/capacity/", "recommendations-", "move", ["move db", "move web"], "-id", "proposal"),
    Case("evacuations", "/capacity/", "evacuations-", "esx", None, "id", "subject"),
    Case("alarms", "/alarms/", "", "loss", ["Link loss on va-far", "Link loss on ca-va"], "-alarm", "alarm"),
    Case(
        "alarm-rules",
        "/alarms/rules/",
        "",
        "link",
        ["Link packet loss over 1 %", "Link busy with migrations over 90 %"],
        "-rule",
        "rule",
    ),
    Case("deliveries", "/alarms/webhooks/", "", "ops", ["ops@example.com", "ops-night@example.com"], "alarm", "to"),
    Case("endpoints", "/alarms/webhooks/", "endpoints-", "pager", ["pager-backup", "pager"], "-endpoint", "endpoint"),
    Case("links", "/sites/", "links-", "virginia", ["California DC ↔ Virginia DC"], "rtt", "between"),
    Case("segments", "/sites/", "segments-", "local", ["va-db-local", "ca-db-local"], "-segment", "segment"),
]


def _csv(response) -> list[dict]:
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_search_sort_and_csv_through_the_page(case: Case, lists, viewer_client):
    p = case.prefix
    everything = _csv(viewer_client.get(f"{case.url}?{p}export=csv"))
    rows = _csv(viewer_client.get(f"{case.url}?{p}q={case.search}&{p}ordering={case.ordering}&{p}export=csv"))
    names = [r[case.column] for r in rows]
    if case.found is not None:
        assert names == case.found
        assert len(everything) > len(rows)
    else:
        assert names and all(case.search in n for n in names)
    reversed_ = case.ordering[1:] if case.ordering.startswith("-") else "-" + case.ordering
    back = _csv(viewer_client.get(f"{case.url}?{p}q={case.search}&{p}ordering={reversed_}&{p}export=csv"))
    assert [r[case.column] for r in back] == names[::-1]
    page = viewer_client.get(f"{case.url}?{p}q={case.search}&{p}ordering={case.ordering}").content.decode()
    direction = "descending" if case.ordering.startswith("-") else "ascending"
    assert f'aria-sort="{direction}"' in page
    assert f"{p}ordering={reversed_}" in page  # a click on the sorted header reverses it, the search kept
    assert f'name="{p}q" value="{case.search}"' in page


def test_an_unknown_page_number_shows_a_page_not_an_error(lists, viewer_client):
    assert viewer_client.get("/capacity/?recommendations-page=zz&evacuations-page=999").status_code == 200


def test_an_on_off_filter_says_what_it_filters_and_filters_it(lists, viewer_client):
    WebhookEndpoint.objects.filter(name="chat").update(enabled=False)
    page = viewer_client.get("/alarms/webhooks/", {"endpoints-enabled": "false"})
    body = page.content.decode()
    assert ">Disabled</option>" in body and ">Enabled or not</option>" in body and "Unknown" not in body
    table = body[body.index('id="endpoint-table"') : body.index('id="delivery-log"')]
    assert "chat" in table and "pager" not in table
    shown = viewer_client.get("/alarms/webhooks/", {"endpoints-enabled": "true"}).content.decode()
    assert "pager-backup" in shown[shown.index('id="endpoint-table"') : shown.index('id="delivery-log"')]
