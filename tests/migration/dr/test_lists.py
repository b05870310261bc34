"""The DR plans list: search by plan or site, sort by any column (the header says which), CSV of what is shown."""

import csv
import io

import pytest

from migration.dr.models import ProtectedWorkload, ProtectionGroup, RecoveryPlan
from tests import factories


@pytest.fixture
def plans(db):
    topo = factories.topology()
    made = {}
    for name, recovery, members in (("Payments", topo.va, 3), ("Analytics", topo.far, 1), ("Web", topo.va, 2)):
        plan = RecoveryPlan.objects.create(name=name, protected_site=topo.ca, recovery_site=recovery, target_rto_s=1800)
        group = ProtectionGroup.objects.create(plan=plan, name="tier 1", priority=0)
        for _ in range(members):
            ProtectedWorkload.objects.create(plan=plan, group=group, workload=factories.workload(topo.ca_hosts[0]))
        made[name] = plan
    return made


def names(body: str) -> list[str]:
    table = body.split('id="plan-table"', 1)[1].split("</table>", 1)[0]
    return [chunk.split("</a>", 1)[0].rsplit(">", 1)[1] for chunk in table.split('href="/dr/plans/')[1:]]


def test_search_matches_plan_or_site_name(plans, viewer_client):
    assert names(viewer_client.get("/dr/?q=pay").content.decode()) == ["Payments"]
    assert names(viewer_client.get("/dr/?q=sydney").content.decode()) == ["Analytics"]
    assert "No plan matches the search." in viewer_client.get("/dr/?q=zzz").content.decode()


def test_sort_by_a_column_and_reverse_it(plans, viewer_client):
    assert names(viewer_client.get("/dr/").content.decode()) == ["Analytics", "Payments", "Web"]
    body = viewer_client.get("/dr/?ordering=-workloads").content.decode()
    assert names(body) == ["Payments", "Web", "Analytics"]
    assert 'aria-sort="descending"' in body and 'href="?ordering=workloads"' in body
    assert names(viewer_client.get("/dr/?ordering=workloads").content.decode()) == ["Analytics", "Web", "Payments"]
    assert names(viewer_client.get("/dr/?ordering=nonsense").content.decode()) == ["Analytics", "Payments", "Web"]


def test_csv_has_the_pages_rows_in_its_order(plans, viewer_client):
    response = viewer_client.get("/dr/export.csv?q=virginia&ordering=-workloads")
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="dr-plans-' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["name"], r["recovery_site"], r["workloads"]) for r in rows] == [
        ("Payments", "Virginia DC", "3"), ("Web", "Virginia DC", "2"),
    ]  # fmt: skip
    body = viewer_client.get("/dr/?q=virginia&ordering=-workloads").content.decode()
    assert 'href="/dr/export.csv?q=virginia&amp;ordering=-workloads"' in body
