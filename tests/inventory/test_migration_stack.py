"""Links carry RTT, loss and MTU; hosts carry their migration stack. The admin, the API and the seed agree."""

from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from inventory.choices import HYPERVISOR_MIGRATION_DEFAULTS, LINUX_DEFAULT_TCP_BUFFER_BYTES, Hypervisor
from inventory.models import CloudLink, Host
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def topo():
    return factories.topology()


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def errors(instance) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as exc:
        instance.full_clean()
    return exc.value.message_dict


def test_mss_is_the_mtu_less_the_ip_and_tcp_headers(topo):
    link = topo.ca_link_va
    assert (link.mtu_bytes, link.mss_bytes) == (1500, 1460)
    link.mtu_bytes = 1400
    assert link.mss_bytes == 1360
    link.loss_percent = 0.05
    assert link.loss == pytest.approx(0.0005)


def test_link_mtu_and_loss_are_checked_with_clear_messages(topo):
    link = topo.ca_link_va
    link.mtu_bytes = 500
    assert errors(link)["mtu_bytes"] == ["An MTU below 576 bytes (IPv4's minimum) cannot carry a migration."]
    link.mtu_bytes, link.loss_percent = 1500, 100
    assert errors(link)["loss_percent"] == ["A link that loses every packet carries nothing; keep it below 100 %."]


def test_a_kvm_host_needs_a_socket_buffer_number_an_esxi_host_may_tune_to_the_path(topo):
    host = topo.ca_hosts[0]
    assert host.hypervisor == Hypervisor.ESXI and host.migration_socket_buffer_bytes is None
    host.full_clean()
    host.hypervisor = Hypervisor.KVM
    message = errors(host)["migration_socket_buffer_bytes"][0]
    assert "tcp_rmem" in message and str(LINUX_DEFAULT_TCP_BUFFER_BYTES) in message
    host.migration_socket_buffer_bytes = LINUX_DEFAULT_TCP_BUFFER_BYTES
    host.full_clean()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("migration_streams", 0, "A migration needs at least one TCP stream."),
        ("migration_streams", 65, "More than 64 migration streams per move is not a real configuration."),
        ("migration_socket_buffer_bytes", 4096, "A socket buffer below 64 KiB is not a real setting."),
        ("migration_cipher_rate_bps", 10, "A cipher slower than 1 MB/s is not a real figure."),
        ("migration_codec_rate_bps", 10, "A codec slower than 1 MB/s is not a real figure."),
    ],
)
def test_host_migration_stack_is_checked(topo, field, value, message):
    host = topo.ca_hosts[0]
    setattr(host, field, value)
    assert errors(host)[field] == [message]


def test_api_reads_and_writes_the_migration_stack_and_refuses_what_the_model_refuses(admin_client, topo):
    host = topo.ca_hosts[0]
    url = f"/api/hosts/{host.pk}/"
    data = admin_client.get(url).json()
    assert data["hypervisor"] == "esxi" and data["migration_streams"] == 4
    assert data["migration_socket_buffer_bytes"] is None
    refused = admin_client.patch(url, {"hypervisor": "kvm"}, content_type="application/json")
    assert refused.status_code == 400
    assert "tcp_rmem" in str(refused.json()["migration_socket_buffer_bytes"])
    host.refresh_from_db()
    assert host.hypervisor == "esxi", "nothing changes on refusal"
    accepted = admin_client.patch(
        url,
        {"hypervisor": "kvm", "migration_streams": 1, "migration_socket_buffer_bytes": LINUX_DEFAULT_TCP_BUFFER_BYTES},
        content_type="application/json",
    )
    assert accepted.status_code == 200, accepted.json()
    host.refresh_from_db()
    assert (host.hypervisor, host.migration_streams) == ("kvm", 1)
    link = admin_client.patch(
        f"/api/links/{topo.ca_link_va.pk}/", {"mtu_bytes": 99_999}, content_type="application/json"
    )
    assert link.status_code == 400 and "9216" in str(link.json()["mtu_bytes"])


def test_admin_host_page_shows_the_migration_stack_and_refuses_a_kvm_host_without_a_buffer(admin_client, topo):
    host = topo.ca_hosts[0]
    page = admin_client.get(f"/admin/inventory/host/{host.pk}/change/")
    assert page.status_code == 200
    assert b"Migration stack" in page.content and b"migration_socket_buffer_bytes" in page.content
    listing = admin_client.get("/admin/inventory/host/")
    assert b"tuned to the path" in listing.content


def test_seed_gives_realistic_links_and_kvm_hosts_with_linux_defaults():
    call_command("seed_demo", "--no-extensions", stdout=StringIO())
    coast = CloudLink.objects.get(site_a__name="California DC", site_b__name="Virginia DC")
    assert (coast.rtt_ms, coast.loss_percent) == (65.0, 0.0), "a private line coast to coast loses nothing"
    vpns = CloudLink.objects.filter(loss_percent__gt=0)
    assert vpns.exists()
    for vpn in vpns:
        assert 0.01 <= vpn.loss_percent <= 0.1 and vpn.mtu_bytes < 1500, vpn
        assert "AWS" in str(vpn) or "Azure" in str(vpn), "only internet VPNs to public regions lose packets"
    kvm = Host.objects.filter(hypervisor=Hypervisor.KVM)
    esxi = Host.objects.filter(hypervisor=Hypervisor.ESXI)
    assert kvm.exists() and esxi.exists()
    assert set(kvm.values_list("migration_streams", "migration_socket_buffer_bytes")) == {
        (1, LINUX_DEFAULT_TCP_BUFFER_BYTES)
    }
    esxi_defaults = HYPERVISOR_MIGRATION_DEFAULTS[Hypervisor.ESXI]
    assert set(esxi.values_list("migration_streams", "migration_socket_buffer_bytes")) == {
        (esxi_defaults["migration_streams"], None)
    }
    for host in Host.objects.select_related("cluster"):
        host.full_clean()
