"""The sites page's links and segments are tables (inventory/tables.py): sortable by their headers, each under its
own prefix, and exported as CSV with the same search and sort."""

import csv
import io

import pytest

from tests import factories


@pytest.fixture
def topo(db):
    return factories.topology()


def _csv(response) -> list[dict]:
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_links_sort_by_rtt_and_export_the_same_rows(topo, viewer_client):
    rows = _csv(viewer_client.get("/sites/?links-ordering=-rtt&links-export=csv"))
    assert [r["between"] for r in rows] == ["California DC ↔ Sydney region", "California DC ↔ Virginia DC"]
    assert [r["rtt"] for r in rows] == ["160 ms", "65 ms"]
    rows = _csv(viewer_client.get("/sites/?links-q=virginia&links-export=csv"))
    assert [r["between"] for r in rows] == ["California DC ↔ Virginia DC"]
    page = viewer_client.get("/sites/?links-ordering=rtt").content.decode()
    assert 'aria-sort="ascending"' in page and "links-ordering=-rtt" in page
    assert page.index("65 ms") < page.index("160 ms")
    assert f'href="/sites/{topo.far.pk}/"' in page


def test_the_segments_sort_by_workloads_and_keep_the_links_sort(topo, viewer_client):
    factories.workload(topo.ca_hosts[0], segment=topo.ca_local)
    rows = _csv(viewer_client.get("/sites/?segments-ordering=-workloads&segments-export=csv"))
    assert rows[0]["segment"] == "ca-db-local" and rows[0]["workloads"] == "1"
    assert rows[0]["sites"] == "California DC"
    assert [r["segment"] for r in rows[1:]] == ["va-db-local", "web-stretched"]  # the tiebreak: by name
    page = viewer_client.get("/sites/?links-ordering=-rtt&segments-ordering=cidr").content.decode()
    assert "links-ordering=-rtt&amp;segments-ordering=-cidr" in page  # a click on one header keeps the other's sort
    assert f'href="/segments/{topo.ca_local.pk}/"' in page


def test_an_unknown_sort_key_shows_the_page(topo, viewer_client):
    assert viewer_client.get("/sites/?links-ordering=nope&segments-ordering=zz").status_code == 200
