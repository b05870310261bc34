import pytest
from rest_framework.authtoken.models import Token

from hybridcloud.core.units import GIB
from inventory.choices import WorkloadKind
from inventory.models import CloudLink, Datastore, Workload
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def topo():
    return factories.topology()


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def body(topo, **overrides) -> dict:
    data = {
        "name": "api-made-01", "kind": "container_vm", "vcpus": 2, "memory_bytes": 2 * GIB, "disk_bytes": 20 * GIB,
        "power_state": "on", "host": topo.ca_hosts[0].pk, "datastore": topo.ca_datastore.pk,
        "segment": topo.stretched.pk, "ip_address": "10.10.3.3", "guest_os": "Photon OS 5",
        "dirty_rate_bps": 5_000_000, "working_set_bytes": GIB // 2,
    }  # fmt: skip
    data.update(overrides)
    return data


def test_workloads_api_filters_exactly_as_designed(viewer_client, topo):
    factories.workload(topo.ca_hosts[0], name="web-frontend-01", segment=topo.stretched, ip="10.10.0.50")
    factories.workload(topo.ca_hosts[1], name="cart-api-01", kind=WorkloadKind.CONTAINER_VM, segment=topo.stretched)
    factories.workload(topo.va_hosts[0], name="cart-api-02", kind=WorkloadKind.CONTAINER_VM, segment=topo.va_local)

    def names(query: str) -> list[str]:
        response = viewer_client.get("/api/workloads/" + query)
        assert response.status_code == 200
        return [w["name"] for w in response.json()["results"]]

    assert names("?kind=container_vm") == ["cart-api-01", "cart-api-02"]
    assert names(f"?kind=container_vm&site={topo.va.pk}") == ["cart-api-02"]
    assert names(f"?host={topo.ca_hosts[0].pk}") == ["web-frontend-01"]
    assert names("?search=10.10.0.5") == ["web-frontend-01"]
    assert names("?search=cart&ordering=-name") == ["cart-api-02", "cart-api-01"]
    row = viewer_client.get("/api/workloads/?search=web-frontend-01").json()["results"][0]
    assert row["site"] == topo.ca.pk and row["host_name"] == "ca-esx-01" and row["kind"] == "vm"


def test_viewer_reads_but_cannot_write(viewer_client, topo):
    assert viewer_client.get("/api/sites/").status_code == 200
    response = viewer_client.post("/api/workloads/", body(topo), content_type="application/json")
    assert response.status_code == 403
    assert (
        response.json()["detail"]
        == "Only administrators may edit the inventory: you lack the permission to add workloads."
    )


def test_operator_is_not_an_inventory_admin(operator_client, topo):
    assert operator_client.post("/api/workloads/", body(topo), content_type="application/json").status_code == 403


@pytest.mark.parametrize("path", ["sites", "links", "clusters", "hosts", "datastores", "segments", "workloads"])
def test_anonymous_gets_nothing(client, topo, path):
    assert client.get(f"/api/{path}/").status_code in (401, 403)


@pytest.mark.parametrize("path", ["sites", "links", "clusters", "hosts", "datastores", "segments", "workloads"])
def test_every_collection_lists_for_viewers(viewer_client, topo, path):
    factories.workload(topo.ca_hosts[0], segment=topo.stretched)
    response = viewer_client.get(f"/api/{path}/")
    assert response.status_code == 200 and response.json()["count"] >= 1


def test_admin_creates_a_workload(admin_client, topo):
    response = admin_client.post("/api/workloads/", body(topo), content_type="application/json")
    assert response.status_code == 201, response.json()
    assert Workload.objects.get(name="api-made-01").kind == WorkloadKind.CONTAINER_VM


def test_token_authentication_works(client, admin_user, topo):
    token = Token.objects.create(user=admin_user)
    response = client.get("/api/workloads/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 200


def test_api_refuses_what_the_admin_refuses_with_the_same_messages(admin_client, topo):
    response = admin_client.post(
        "/api/workloads/", body(topo, ip_address="192.168.9.9"), content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"ip_address": ["192.168.9.9 is outside segment web-stretched (10.10.0.0/16)."]}
    response = admin_client.post(
        "/api/workloads/", body(topo, segment=topo.va_local.pk, ip_address="10.30.0.9"), content_type="application/json"
    )
    assert response.json()["segment"] == [
        "Segment va-db-local is not present on California DC, where host ca-esx-01 is."
    ]
    assert not Workload.objects.exists()


def test_api_refuses_a_duplicate_ip_on_a_segment(admin_client, topo):
    factories.workload(topo.ca_hosts[0], segment=topo.stretched, ip="10.10.3.3")
    response = admin_client.post("/api/workloads/", body(topo), content_type="application/json")
    assert response.status_code == 400
    assert "This IP address is already used on this segment." in str(response.json())


def test_api_refuses_a_reversed_duplicate_link(admin_client, topo):
    response = admin_client.post(
        "/api/links/",
        {"site_a": topo.va.pk, "site_b": topo.ca.pk, "bandwidth_mbit": 1000, "rtt_ms": 60},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "These two sites are already linked (links are symmetric: one per pair)." in str(response.json())
    assert CloudLink.objects.count() == 2


def test_api_refuses_datastore_hosts_from_another_site(admin_client, topo):
    response = admin_client.post(
        "/api/datastores/",
        {"name": "x", "site": topo.ca.pk, "capacity_bytes": 10 * GIB, "hosts": [topo.va_hosts[0].pk]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["hosts"] == [
        "Hosts va-esx-01 are not on California DC; a datastore is seen only by hosts on its site."
    ]
    assert not Datastore.objects.filter(name="x").exists()


def test_api_patch_runs_the_rules_against_the_other_fields(admin_client, topo):
    wl = factories.workload(topo.ca_hosts[0], segment=topo.stretched)
    response = admin_client.patch(f"/api/workloads/{wl.pk}/", {"vcpus": 64}, content_type="application/json")
    assert response.status_code == 400 and "more than host ca-esx-01's 32 cores" in response.json()["vcpus"][0]
    response = admin_client.patch(f"/api/workloads/{wl.pk}/", {"vcpus": 4}, content_type="application/json")
    assert response.status_code == 200 and response.json()["vcpus"] == 4


def test_deleting_a_site_in_use_answers_409(admin_client, topo):
    response = admin_client.delete(f"/api/sites/{topo.ca.pk}/")
    assert response.status_code == 409
    assert response.json() == {"errors": ["Cannot delete: clusters, datastores still depend on it."]}


def test_api_sets_and_shows_the_disk_write_rate_and_refuses_a_negative_one(admin_client, topo):
    response = admin_client.post(
        "/api/workloads/", body(topo, disk_write_rate_bps=3_000_000), content_type="application/json"
    )
    assert response.status_code == 201, response.json()
    assert admin_client.get(f"/api/workloads/{response.json()['id']}/").json()["disk_write_rate_bps"] == 3_000_000
    refused = admin_client.post(
        "/api/workloads/", body(topo, name="api-made-02", ip_address="10.10.3.4", disk_write_rate_bps=-1),
        content_type="application/json",
    )  # fmt: skip
    assert refused.status_code == 400 and "disk_write_rate_bps" in refused.json()
