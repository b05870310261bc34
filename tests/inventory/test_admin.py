import pytest

from hybridcloud.core.units import GIB
from inventory.choices import HostState, PowerState
from inventory.models import CloudLink, Datastore, Workload
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def topo():
    return factories.topology()


def workload_form(topo, **overrides) -> dict:
    data = {
        "name": "web-frontend-42", "kind": "vm", "guest_os": "Ubuntu 24.04 LTS", "power_state": "on",
        "host": topo.ca_hosts[0].pk, "datastore": topo.ca_datastore.pk, "segment": topo.stretched.pk,
        "ip_address": "10.10.0.42", "vcpus": 2, "memory_bytes": 4 * GIB, "disk_bytes": 40 * GIB,
        "dirty_rate_bps": 20_000_000, "working_set_bytes": GIB, "disk_write_rate_bps": 2_000_000,
    }  # fmt: skip
    data.update(overrides)
    return data


def test_admin_refuses_a_workload_with_an_ip_outside_its_segment(admin_client, topo):
    response = admin_client.post("/admin/inventory/workload/add/", workload_form(topo, ip_address="192.168.1.5"))
    assert response.status_code == 200
    assert "192.168.1.5 is outside segment web-stretched (10.10.0.0/16)." in response.content.decode()
    assert not Workload.objects.exists()


def test_admin_refuses_a_workload_whose_segment_is_not_on_its_host_site(admin_client, topo):
    response = admin_client.post(
        "/admin/inventory/workload/add/", workload_form(topo, segment=topo.va_local.pk, ip_address="10.30.0.5")
    )
    assert "Segment va-db-local is not present on California DC, where host ca-esx-01 is." in response.content.decode()
    assert not Workload.objects.exists()


def test_admin_refuses_a_workload_bigger_than_its_host(admin_client, topo):
    response = admin_client.post("/admin/inventory/workload/add/", workload_form(topo, memory_bytes=600 * GIB))
    assert "Host ca-esx-01 has 512 GiB of memory free; this workload needs 600 GiB." in response.content.decode()


def test_admin_saves_a_good_workload(admin_client, topo):
    response = admin_client.post("/admin/inventory/workload/add/", workload_form(topo))
    assert response.status_code == 302
    assert Workload.objects.get().ip_address == "10.10.0.42"
    assert Workload.objects.get().disk_write_rate_bps == 2_000_000


def test_admin_refuses_a_reversed_duplicate_link(admin_client, topo):
    response = admin_client.post(
        "/admin/inventory/cloudlink/add/",
        {"site_a": topo.va.pk, "site_b": topo.ca.pk, "bandwidth_mbit": 1000, "rtt_ms": 60, "loss_percent": 0,
         "compression_ratio": 1, "encrypted": "on"},
    )  # fmt: skip
    assert "These two sites are already linked (links are symmetric: one per pair)." in response.content.decode()
    assert CloudLink.objects.count() == 2


def test_admin_refuses_datastore_hosts_from_another_site(admin_client, topo):
    response = admin_client.post(
        "/admin/inventory/datastore/add/",
        {"name": "ca-nfs", "site": topo.ca.pk, "kind": "shared", "capacity_bytes": 100 * GIB, "used_bytes": 0,
         "hosts": [topo.ca_hosts[0].pk, topo.va_hosts[0].pk]},
    )  # fmt: skip
    assert "Hosts va-esx-01 are not on California DC" in response.content.decode()
    assert not Datastore.objects.filter(name="ca-nfs").exists()
    response = admin_client.post(
        "/admin/inventory/datastore/add/",
        {"name": "ca-nfs", "site": topo.ca.pk, "kind": "shared", "capacity_bytes": 100 * GIB, "used_bytes": 0,
         "hosts": [h.pk for h in topo.ca_hosts]},
    )  # fmt: skip
    assert response.status_code == 302
    assert Datastore.objects.get(name="ca-nfs").hosts.count() == 2


def test_bulk_power_off_and_on_workloads(admin_client, topo):
    a = factories.workload(topo.ca_hosts[0], segment=topo.stretched)
    b = factories.workload(topo.ca_hosts[0], segment=topo.stretched, power_state=PowerState.OFF)
    url = "/admin/inventory/workload/"
    response = admin_client.post(url, {"action": "power_off", "_selected_action": [a.pk, b.pk]}, follow=True)
    assert "1 workload(s) powered off." in response.content.decode()
    assert set(Workload.objects.values_list("power_state", flat=True)) == {PowerState.OFF}
    response = admin_client.post(url, {"action": "power_on", "_selected_action": [a.pk, b.pk]}, follow=True)
    assert "2 workload(s) powered on." in response.content.decode()
    assert set(Workload.objects.values_list("power_state", flat=True)) == {PowerState.ON}


def test_bulk_power_on_refuses_what_does_not_fit(admin_client, topo):
    host = topo.ca_hosts[0]
    factories.workload(host, memory_gib=500, vcpus=8, segment=topo.stretched)
    big = factories.workload(host, memory_gib=64, segment=topo.stretched, power_state=PowerState.OFF)
    response = admin_client.post(
        "/admin/inventory/workload/", {"action": "power_on", "_selected_action": [big.pk]}, follow=True
    )
    assert "1 not powered on" in response.content.decode()
    big.refresh_from_db()
    assert big.power_state == PowerState.OFF


def test_bulk_maintenance_and_back_to_connected(admin_client, topo):
    ids = [h.pk for h in topo.ca_hosts]
    url = "/admin/inventory/host/"
    response = admin_client.post(url, {"action": "enter_maintenance", "_selected_action": ids}, follow=True)
    assert "2 host(s) put in maintenance." in response.content.decode()
    assert {h.state for h in topo.ca_cluster.hosts.all()} == {HostState.MAINTENANCE}
    admin_client.post(url, {"action": "set_connected", "_selected_action": ids})
    assert {h.state for h in topo.ca_cluster.hosts.all()} == {HostState.CONNECTED}


@pytest.mark.parametrize("path", ["site", "cloudlink", "cluster", "host", "datastore", "networksegment", "workload"])
def test_every_model_has_a_working_changelist_and_add_form(admin_client, topo, path):
    factories.workload(topo.ca_hosts[0], segment=topo.stretched)
    assert admin_client.get(f"/admin/inventory/{path}/").status_code == 200
    assert admin_client.get(f"/admin/inventory/{path}/add/").status_code == 200
    assert admin_client.get(f"/admin/inventory/{path}/?q=ca").status_code == 200


def test_host_page_shows_its_workloads_inline_with_links(admin_client, topo):
    wl = factories.workload(topo.ca_hosts[0], name="pg-primary-02", segment=topo.stretched)
    html = admin_client.get(f"/admin/inventory/host/{topo.ca_hosts[0].pk}/change/").content.decode()
    assert f"/admin/inventory/workload/{wl.pk}/change/" in html and "pg-primary-02" in html
