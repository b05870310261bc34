import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from hybridcloud.core.units import GIB
from inventory.choices import CpuBaseline, PowerState
from inventory.models import CloudLink, Cluster, Datastore, NetworkSegment, Workload
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def topo():
    return factories.topology()


def new_workload(topo, **overrides) -> Workload:
    fields = {
        "name": "wl-new", "kind": "vm", "vcpus": 2, "memory_bytes": 4 * GIB, "disk_bytes": 40 * GIB,
        "power_state": PowerState.ON, "host": topo.ca_hosts[0], "datastore": topo.ca_datastore,
        "segment": topo.stretched, "ip_address": "10.10.9.9", "working_set_bytes": GIB,
    }  # fmt: skip
    fields.update(overrides)
    return Workload(**fields)


def errors(instance) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as exc:
        instance.full_clean()
    return exc.value.message_dict


def test_a_valid_workload_passes(topo):
    new_workload(topo).full_clean()


def test_ip_must_lie_inside_the_segment(topo):
    assert errors(new_workload(topo, ip_address="10.99.0.1"))["ip_address"] == [
        "10.99.0.1 is outside segment web-stretched (10.10.0.0/16)."
    ]


def test_ip_cannot_be_the_gateway(topo):
    assert errors(new_workload(topo, ip_address="10.10.0.1"))["ip_address"] == [
        "10.10.0.1 is the gateway of segment web-stretched."
    ]


def test_ip_unique_per_segment_in_clean_and_in_the_database(topo):
    factories.workload(topo.ca_hosts[0], segment=topo.stretched, ip="10.10.9.9")
    assert errors(new_workload(topo))["__all__"] == ["This IP address is already used on this segment."]
    with pytest.raises(IntegrityError), transaction.atomic():
        new_workload(topo).save()
    # The same address on another segment is fine.
    new_workload(topo, segment=topo.ca_local, ip_address="10.20.9.9").full_clean()


def test_one_link_per_pair_even_reversed_in_clean(topo):
    assert errors(CloudLink(site_a=topo.va, site_b=topo.ca, bandwidth_mbit=1000, rtt_ms=60))["site_b"] == [
        "These two sites are already linked (links are symmetric: one per pair)."
    ]
    assert "These two sites are already linked" in str(
        errors(CloudLink(site_a=topo.ca, site_b=topo.va, bandwidth_mbit=1000, rtt_ms=60))
    )


def test_one_link_per_pair_even_reversed_in_the_database(topo):
    with pytest.raises(IntegrityError), transaction.atomic():
        CloudLink.objects.create(site_a=topo.va, site_b=topo.ca, bandwidth_mbit=1000, rtt_ms=60)


def test_a_link_joins_two_different_sites(topo):
    assert errors(CloudLink(site_a=topo.va, site_b=topo.va, bandwidth_mbit=1000, rtt_ms=1))["site_b"] == [
        "A link joins two different sites."
    ]


def test_datastore_must_be_on_the_hosts_site(topo):
    assert errors(new_workload(topo, datastore=topo.va_datastore))["datastore"] == [
        "Datastore va-vsan is on Virginia DC, but host ca-esx-01 is on California DC."
    ]


def test_host_must_see_the_datastore(topo):
    lonely = factories.datastore(topo.ca, "ca-local-disk", hosts=[topo.ca_hosts[1]])
    assert errors(new_workload(topo, datastore=lonely))["datastore"] == [
        "Host ca-esx-01 does not see datastore ca-local-disk."
    ]


def test_segment_must_be_present_on_the_hosts_site(topo):
    assert errors(new_workload(topo, segment=topo.va_local, ip_address="10.30.0.9"))["segment"] == [
        "Segment va-db-local is not present on California DC, where host ca-esx-01 is."
    ]


def test_memory_within_the_hosts_free_memory(topo):
    factories.workload(topo.ca_hosts[0], memory_gib=500, segment=topo.stretched)
    assert errors(new_workload(topo, memory_bytes=16 * GIB, working_set_bytes=GIB))["memory_bytes"] == [
        "Host ca-esx-01 has 12 GiB of memory free; this workload needs 16 GiB."
    ]
    # Powered off, it takes no memory and fits.
    new_workload(topo, memory_bytes=16 * GIB, power_state=PowerState.OFF).full_clean()


def test_vcpus_not_more_than_the_hosts_cores(topo):
    assert errors(new_workload(topo, vcpus=33))["vcpus"] == ["33 vCPUs is more than host ca-esx-01's 32 cores."]


def test_vcpus_within_the_hosts_overcommit_limit(topo):
    for _ in range(4):
        factories.workload(topo.ca_hosts[0], vcpus=32, memory_gib=1, segment=topo.stretched)
    assert errors(new_workload(topo, vcpus=1))["vcpus"] == [
        "Host ca-esx-01 would run 129 vCPUs, more than its limit of 128 (4× its 32 cores)."
    ]


def test_working_set_not_larger_than_memory(topo):
    assert (
        "The writable working set cannot be larger than the memory."
        in errors(new_workload(topo, working_set_bytes=8 * GIB))["working_set_bytes"]
    )


def test_segment_gateway_inside_its_cidr():
    segment = NetworkSegment(name="s", overlay_id=77, cidr="10.1.0.0/24", gateway="10.2.0.1")
    assert errors(segment)["gateway"] == ["The gateway 10.2.0.1 is outside 10.1.0.0/24."]


def test_segment_cidr_must_be_a_network():
    segment = NetworkSegment(name="s", overlay_id=77, cidr="10.1.0.5/24", gateway="10.1.0.1")
    assert errors(segment)["cidr"][0].startswith("'10.1.0.5/24' is not a network in CIDR form")


def test_cluster_baseline_belongs_to_its_vendor(topo):
    cluster = Cluster(site=topo.ca, name="mixed", cpu_vendor="amd", cpu_baseline=CpuBaseline.INTEL_ICELAKE)
    assert errors(cluster)["cpu_baseline"] == ["Intel Ice Lake is not a baseline for AMD CPUs."]
    assert Cluster(site=topo.ca, name="ok", cpu_vendor="amd", cpu_baseline=CpuBaseline.AMD_ZEN4).baseline_level == 3


def test_cluster_names_unique_per_site(topo):
    assert errors(Cluster(site=topo.ca, name="ca-compute", cpu_vendor="intel", cpu_baseline="intel-skylake"))[
        "__all__"
    ] == ["A cluster with this name already exists on this site."]
    Cluster(site=topo.va, name="ca-compute", cpu_vendor="intel", cpu_baseline="intel-skylake").full_clean()


def test_datastore_used_within_capacity(topo):
    ds = Datastore(site=topo.ca, name="tiny", capacity_bytes=GIB, used_bytes=2 * GIB)
    assert errors(ds)["__all__"] == ["Used space cannot exceed the datastore's capacity."]


def test_host_units_for_the_engine(topo):
    host = topo.ca_hosts[0]
    assert host.site == topo.ca and host.vcpu_capacity == 128
    assert host.migration_bandwidth_bps == 1.25e9 and host.max_concurrent_migrations == 8
    slow = factories.host(topo.ca_cluster, "slow", nic_gbps=1)
    assert slow.max_concurrent_migrations == 4
    assert topo.ca_link_va.bandwidth_bps == 1.25e9 and topo.ca_link_va.rtt_s == 0.065
