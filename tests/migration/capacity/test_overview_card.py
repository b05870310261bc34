"""The overview's capacity card: hosts above the threshold in their latest sample, the hottest first."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from migration.capacity.choices import Scope
from migration.capacity.models import UtilisationSample
from tests import factories

pytestmark = pytest.mark.django_db


def test_overview_card_counts_hosts_above_threshold_and_lists_the_hottest_first(viewer_client):
    topo = factories.topology()
    now = timezone.now()
    loads = {topo.ca_hosts[0]: (95, 40), topo.ca_hosts[1]: (30, 20), topo.va_hosts[0]: (50, 88)}
    UtilisationSample.objects.bulk_create(
        [UtilisationSample(scope=Scope.HOST, object_id=topo.va_hosts[1].pk, at=now - timedelta(hours=3), cpu_pct=99,
                           mem_pct=99)]  # too old to count
        + [UtilisationSample(scope=Scope.HOST, object_id=h.pk, at=now - timedelta(minutes=1), cpu_pct=c, mem_pct=m)
           for h, (c, m) in loads.items()]
    )  # fmt: skip
    page = viewer_client.get("/").content.decode()
    assert "Capacity: 2 hosts above threshold" in page
    card = page[page.index('id="capacity-card"') :]
    table = card[card.index("<table") : card.index("</table>")]
    order = [table.index(h.name) for h in (topo.ca_hosts[0], topo.va_hosts[0], topo.ca_hosts[1])]
    assert order == sorted(order)
    assert topo.va_hosts[1].name not in table
    # The last day's heat map has a row per host, the old sample included.
    heatmap = json.loads(card[card.index('id="overview-heatmap-data"') :].split(">", 1)[1].split("</script>")[0])
    row = heatmap["hosts"].index(f"{topo.va_hosts[1].name} · {topo.va.name}")
    assert 99 in heatmap["cpu"][row] and len(heatmap["times"]) == 2  # two hourly buckets sampled


def test_overview_card_says_when_nothing_is_sampled(viewer_client):
    factories.topology()
    page = viewer_client.get("/").content.decode()
    assert "Capacity: 0 hosts above threshold" in page
    assert "No utilisation sampled in the last hour" in page
