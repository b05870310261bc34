"""Predictions carry the transport: the link's RTT, loss and MTU and both hosts' migration stacks; the wizard says
which limit sets the rate and what would lift it."""

import re

import pytest

from inventory.choices import LINUX_DEFAULT_TCP_BUFFER_BYTES, Hypervisor
from inventory.models import Host
from migration.prechecks import (
    HostStack,
    LinkStack,
    engine_params,
    precheck_migration,
    transport_between,
    transport_fields,
)
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def topo():
    return factories.topology()


def kvm(host: Host, **over) -> Host:
    """A KVM host with Linux defaults: one stream, buffers capped by tcp_rmem."""
    fields = {
        "hypervisor": Hypervisor.KVM, "migration_streams": 1,
        "migration_socket_buffer_bytes": LINUX_DEFAULT_TCP_BUFFER_BYTES, "migration_cipher_rate_bps": 500_000_000,
    } | over  # fmt: skip
    Host.objects.filter(pk=host.pk).update(**fields)
    host.refresh_from_db()
    return host


def params_for(topo, source, destination, link, **workload):
    vm = factories.workload(source, **workload)
    return engine_params(
        workload=vm,
        bandwidth_bps=1.25e9,
        max_downtime_s=0.3,
        policy="throttle",
        compression_ratio=link.compression_ratio if link else 1.0,
        source_host=source,
        destination_host=destination,
        cloud_link=link,
    )


def test_engine_params_take_the_link_and_the_binding_side_of_each_host_stack(topo):
    link = topo.ca_link_va
    link.loss_percent, link.mtu_bytes, link.encrypted = 0.02, 1400, False
    link.save()
    src = kvm(topo.ca_hosts[0], migration_streams=2, migration_socket_buffer_bytes=8 * 2**20)
    dst = topo.va_hosts[0]  # ESXi: 4 streams, buffers tuned to the path
    p = params_for(topo, src, dst, link)
    assert (p.rtt_s, p.loss, p.mss_bytes) == (0.065, pytest.approx(0.0002), 1360)
    assert p.streams == 2, "the lower stream count binds"
    assert p.socket_buffer_bytes == 8 * 2**20, "a fixed buffer binds over one tuned to the path"
    assert p.cipher_rate_bps is None, "nothing encrypts"
    # Encryption when either host encrypts, at the slower cipher.
    Host.objects.filter(pk=dst.pk).update(migration_encrypted=True)
    dst.refresh_from_db()
    assert params_for(topo, src, dst, link).cipher_rate_bps == 500_000_000
    # Or when the link encrypts.
    Host.objects.filter(pk=dst.pk).update(migration_encrypted=False)
    dst.refresh_from_db()
    link.encrypted = True
    link.save()
    assert params_for(topo, src, dst, link).cipher_rate_bps == 500_000_000
    # A host's migration port with a smaller MTU shrinks the segment.
    Host.objects.filter(pk=dst.pk).update(migration_mtu_bytes=1300)
    dst.refresh_from_db()
    assert params_for(topo, src, dst, link).mss_bytes == 1260


def test_a_host_codec_binds_only_when_the_link_compresses(topo):
    link = topo.ca_link_va
    src = kvm(topo.ca_hosts[0], migration_codec_rate_bps=300_000_000)
    assert params_for(topo, src, topo.va_hosts[0], link).codec_rate_bps is None
    link.compression_ratio = 2.0
    link.save()
    assert params_for(topo, src, topo.va_hosts[0], link).codec_rate_bps == 300_000_000


def test_inside_a_site_there_is_no_rtt_and_no_loss(topo):
    p = params_for(topo, topo.ca_hosts[0], topo.ca_hosts[1], None)
    assert (p.rtt_s, p.loss) == (0.0, 0.0)


def test_prediction_names_the_binding_limit_and_what_would_lift_it(topo):
    kvm(topo.ca_hosts[0])
    kvm(topo.va_hosts[0])
    vm = factories.workload(topo.ca_hosts[0], segment=topo.stretched, memory_gib=16)
    check = precheck_migration(workload=vm, destination_host=topo.va_hosts[0])
    p = check.prediction
    assert p["limit"] == "window"
    assert p["limit_sentence"].startswith("The TCP window binds: 1 stream")
    assert any("buffers" in a for a in p["advice"]) and any("streams" in a for a in p["advice"])
    assert p["p10_total_time_s"] <= p["total_time_s"] <= p["p90_total_time_s"]
    assert "telemetry" in p["basis"]
    kinds = {s["kind"] for s in check.suggestions}
    assert {"buffers", "streams"} <= kinds
    tuned = next(s for s in check.suggestions if s["kind"] == "buffers")
    assert tuned["prediction"]["total_time_s"] < p["total_time_s"] / 3


def _seconds(text: str) -> float:
    """Read back the `duration` filter: "42.5 s", "3 min 12 s", "171 ms", "2 h 5 min"."""
    text = text.strip()
    if m := re.fullmatch(r"([\d.]+) ms", text):
        return float(m[1]) / 1000
    if m := re.fullmatch(r"([\d.]+) s", text):
        return float(m[1])
    if m := re.fullmatch(r"(\d+) min (\d+) s", text):
        return int(m[1]) * 60 + int(m[2])
    m = re.fullmatch(r"(\d+) h (\d+) min", text)
    return int(m[1]) * 3600 + int(m[2]) * 60


def test_the_same_vm_over_2_ms_and_65_ms_links_of_equal_bandwidth_gets_different_predictions_and_the_wizard_says_why(
    operator_client, topo
):
    """Acceptance (issue #13): buffers not tuned (KVM with Linux defaults), same bandwidth, 2 ms against 65 ms."""
    near = factories.site("Nevada DC", lat=39.5, lon=-119.8)
    near_cluster = factories.cluster(near, "nv-compute", topo.va_cluster.cpu_baseline)
    near_host = factories.host(near_cluster, "nv-kvm-01")
    factories.datastore(near, "nv-vsan", [near_host])
    factories.link(topo.ca, near, rtt_ms=2.0, mbit=topo.ca_link_va.bandwidth_mbit)
    topo.stretched.sites.add(near)
    for host in (topo.ca_hosts[0], topo.va_hosts[0], near_host):
        kvm(host)
    vm = factories.workload(topo.ca_hosts[0], segment=topo.stretched, memory_gib=8)
    url = f"/migrations/new/?workload={vm.pk}"
    pages = {}
    for name, host in (("near", near_host), ("far", topo.va_hosts[0])):
        response = operator_client.post(
            url, {"destination_host": host.pk, "policy": "throttle", "max_downtime_s": 0.3, "action": "check"}
        )
        assert response.status_code == 200
        pages[name] = response.content.decode()
    totals = {name: _seconds(re.search(r'id="pred-total">([^<]+)<', body)[1]) for name, body in pages.items()}
    assert totals["far"] > 4 * totals["near"], totals  # 96.8 MB/s (window) against 500 MB/s (cipher)
    far = pages["far"]
    assert 'id="rate-limit" data-limit="window"' in far
    assert "set by the TCP window" in far and "/ 65 ms" in far
    assert 'id="limit-advice"' in far and "Socket buffers of" in far
    assert 'data-kind="buffers"' in far, "what would fix it: buffers tuned to the path, with its prediction"
    assert 'id="pred-range"' in far and "(p10–p90)" in far
    assert 'data-limit="window"' not in pages["near"], "at 2 ms the window does not bind"


def test_api_precheck_gives_the_range_the_binding_limit_and_its_advice(operator_client, topo):
    kvm(topo.ca_hosts[0])
    vm = factories.workload(topo.ca_hosts[0], segment=topo.stretched)
    response = operator_client.post(
        "/api/migrations/precheck/", {"workload": vm.pk, "destination_host": topo.va_hosts[0].pk}, "application/json"
    )
    assert response.status_code == 200
    p = response.json()["prediction"]
    assert p["p10_total_time_s"] <= p["total_time_s"] <= p["p90_total_time_s"]
    assert p["limit"] == "window" and "65 ms" in p["limit_sentence"] and p["advice"]


def test_transport_worked_out_once_per_kind_of_move_gives_the_same_engine_inputs(topo):
    """A planner's `transport_between` of the hosts' stacks (computed once per distinct stacks and link) gives the
    inputs `engine_params` works out from the hosts themselves, for each combination of stacks; `transport_fields`
    hands out its own dict, never the shared one."""
    link = topo.ca_link_va
    link.compression_ratio = 2.0
    link.save()
    plain, tuned = topo.va_hosts[0], kvm(topo.ca_hosts[0], migration_codec_rate_bps=300_000_000)
    encrypting = kvm(topo.ca_hosts[1], migration_encrypted=True, migration_mtu_bytes=1300, migration_streams=3)
    vm = factories.workload(tuned)
    for source, destination, over in ((tuned, plain, link), (encrypting, plain, link), (tuned, encrypting, None)):
        ratio = over.compression_ratio if over else 1.0
        alone = engine_params(
            workload=vm, bandwidth_bps=1.25e9, max_downtime_s=0.3, policy="throttle", compression_ratio=ratio,
            source_host=source, destination_host=destination, cloud_link=over,
        )  # fmt: skip
        shared = transport_between(HostStack.of(source), HostStack.of(destination), LinkStack.of(over), ratio)
        given = engine_params(
            workload=vm, bandwidth_bps=1.25e9, max_downtime_s=0.3, policy="throttle", compression_ratio=ratio,
            source_host=source, destination_host=destination, cloud_link=over, transport=shared,
        )  # fmt: skip
        assert given == alone
        fields = transport_fields(
            source_host=source, destination_host=destination, cloud_link=over, compression_ratio=ratio
        )
        assert fields == dict(shared)
        fields["streams"] = 99
        assert transport_between(HostStack.of(source), HostStack.of(destination), LinkStack.of(over), ratio) == shared
        with pytest.raises(TypeError):
            shared["streams"] = 99  # read-only: every move of that kind shares it
    # A host whose stack changes is a new key: nothing stale is served.
    before = transport_between(HostStack.of(tuned), HostStack.of(plain), LinkStack.of(link), 2.0)
    tuned = kvm(tuned, migration_codec_rate_bps=100_000_000)
    after = transport_between(HostStack.of(tuned), HostStack.of(plain), LinkStack.of(link), 2.0)
    assert (before["codec_rate_bps"], after["codec_rate_bps"]) == (300_000_000, 100_000_000)
