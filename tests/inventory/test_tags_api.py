"""Tags and placement rules through the API: filterable by tag, written by administrators only, refused by name."""

import pytest
from django.test import Client

from inventory.models import PlacementRule, Tag
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def tagged():
    topo = factories.topology()
    db = Tag.objects.create(name="db replicas", slug="db-replicas", color="aa1409")
    pci = Tag.objects.create(name="PCI", slug="pci", color="1f6feb")
    db1 = factories.workload(topo.ca_hosts[0], name="db-1")
    db2 = factories.workload(topo.ca_hosts[1], name="db-2")
    factories.workload(topo.ca_hosts[1], name="web-1")
    db1.tags.add(db, pci)
    db2.tags.add(db)
    topo.va_hosts[0].tags.add(pci)
    return topo, db, pci


@pytest.fixture
def admin_client(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def test_workloads_and_hosts_filter_by_tag_and_show_their_tags(tagged, viewer_client):
    topo, db, pci = tagged
    names = [w["name"] for w in viewer_client.get("/api/workloads/?tag=db-replicas").json()["results"]]
    assert names == ["db-1", "db-2"]
    both = viewer_client.get("/api/workloads/?tag=db-replicas&tag=pci").json()["results"]
    assert [w["name"] for w in both] == ["db-1"] and sorted(both[0]["tags"]) == ["db-replicas", "pci"]
    hosts = viewer_client.get("/api/hosts/?tag=pci").json()
    hosts = hosts["results"] if isinstance(hosts, dict) else hosts
    assert [h["name"] for h in hosts] == ["va-esx-01"] and hosts[0]["tags"] == ["pci"]
    unknown = viewer_client.get("/api/workloads/?tag=nope")
    assert unknown.status_code == 400 and "nope" in str(unknown.json()["tag"])


def test_rules_written_by_admins_and_refused_by_name(tagged, admin_client, viewer_client):
    topo, db, pci = tagged
    assert viewer_client.post("/api/placement-rules/", {"name": "x", "kind": "keep_apart"}).status_code == 403
    no_members = admin_client.post("/api/placement-rules/", {"name": "x", "kind": "keep_apart"}, "application/json")
    assert no_members.status_code == 400
    assert no_members.json()["workload_tag"] == ["Choose the rule's members: a workload tag, or workloads one by one."]
    pin = admin_client.post(
        "/api/placement-rules/", {"name": "p", "kind": "pin_to_hosts", "workload_tag": "pci"}, "application/json"
    )
    assert pin.status_code == 400 and "needs a host group" in pin.json()["host_tag"][0]
    assert not PlacementRule.objects.exists()
    made = admin_client.post(
        "/api/placement-rules/",
        {"name": "db-replicas", "kind": "keep_apart", "scope": "host", "workload_tag": "db-replicas"},
        "application/json",
    )
    assert made.status_code == 201, made.content
    listed = viewer_client.get("/api/placement-rules/?tag=db-replicas").json()
    listed = listed["results"] if isinstance(listed, dict) else listed
    assert [r["name"] for r in listed] == ["db-replicas"]
    bad_colour = admin_client.post("/api/tags/", {"name": "n", "slug": "n", "color": "red"}, "application/json")
    assert bad_colour.status_code == 400 and "six hex digits" in bad_colour.json()["color"][0]
    tagged_write = admin_client.patch(
        f"/api/workloads/{topo.ca_hosts[0].workloads.get().pk}/", {"tags": ["pci"]}, "application/json"
    )
    assert tagged_write.status_code == 200 and tagged_write.json()["tags"] == ["pci"]
