"""The migrations list: MigrationFilterSet drives the page, its CSV and the API (search, sort, filters alike)."""

import csv
import io

import pytest
from django.utils import timezone

from inventory.models import Tag
from migration.models import Migration
from tests import factories


@pytest.fixture
def moves(db, operator):
    topo = factories.topology()
    made = []
    for name, state, rounds in (("web-01", "completed", 4), ("db-01", "failed", 9), ("web-02", "completed", 1)):
        src, dst = topo.ca_hosts[0], topo.va_hosts[0]
        made.append(
            Migration.objects.create(
                workload=factories.workload(src, name=name), source_host=src, destination_host=dst,
                source_datastore=topo.ca_datastore, destination_datastore=topo.va_datastore,
                cloud_link=topo.ca_link_va, link_key=f"link-{topo.ca_link_va.pk}", state=state, rounds_count=rounds,
                finished_at=timezone.now(), requested_by=operator if name == "db-01" else None,
            )
        )  # fmt: skip
    return made


def workloads(body: str) -> list[str]:
    table = body.split('id="migration-table"', 1)[1].split("</table>", 1)[0]
    return [row.split("</a>", 2)[1].rsplit(">", 1)[1] for row in table.split("<tr data-id=")[1:]]


def test_search_by_workload_host_or_requester(moves, viewer_client):
    assert workloads(viewer_client.get("/migrations/?q=web").content.decode()) == ["web-02", "web-01"]
    assert workloads(viewer_client.get("/migrations/?q=otto").content.decode()) == ["db-01"]
    assert workloads(viewer_client.get("/migrations/?q=va-esx&state=failed").content.decode()) == ["db-01"]


def test_sort_by_a_column_keeps_the_filters_in_the_links(moves, viewer_client):
    body = viewer_client.get("/migrations/?ordering=-rounds&state=completed").content.decode()
    assert workloads(body) == ["web-01", "web-02"]
    assert 'aria-sort="descending"' in body
    assert 'href="?ordering=rounds&amp;state=completed"' in body
    assert workloads(viewer_client.get("/migrations/?ordering=workload").content.decode()) == [
        "db-01", "web-01", "web-02",
    ]  # fmt: skip


def test_csv_and_api_answer_with_the_same_rows_as_the_page(moves, viewer_client):
    response = viewer_client.get("/migrations/export.csv?q=web&ordering=rounds")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["workload"] for r in rows] == ["web-02", "web-01"]
    api = viewer_client.get("/api/migrations/?q=web&ordering=rounds", HTTP_ACCEPT="application/json").json()
    assert [m["id"] for m in api["results"]] == [int(r["id"]) for r in rows]


def test_api_refuses_an_unknown_state_naming_it(moves, viewer_client):
    response = viewer_client.get("/api/migrations/?state=flying", HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and "state" in response.json()


def test_the_tag_filter_and_search_name_work_on_the_page_and_the_api_alike(moves, viewer_client):
    tag = Tag.objects.create(name="Payments", slug="payments", color="e91e63")
    moves[1].workload.tags.add(tag)
    page = viewer_client.get("/migrations/?tag=payments").content.decode()
    assert workloads(page) == ["db-01"]
    api = viewer_client.get("/api/migrations/?tag=payments&search=db", HTTP_ACCEPT="application/json").json()
    assert [m["id"] for m in api["results"]] == [moves[1].pk]
    unknown = viewer_client.get("/api/migrations/?tag=nope", HTTP_ACCEPT="application/json")
    assert unknown.status_code == 400 and "tag" in unknown.json()
    csv_rows = viewer_client.get("/migrations/export.csv?tag=payments")
    assert [r["workload"] for r in csv.DictReader(io.StringIO(b"".join(csv_rows.streaming_content).decode()))] == [
        "db-01"
    ]
