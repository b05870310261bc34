"""The one accounting of host and site usage (inventory.usage, read through inventory.selectors)."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hybridcloud.core.units import GIB
from inventory.choices import PowerState
from inventory.models import Workload
from inventory.selectors import host_usage, site_usage
from inventory.services import workloads_power_on
from inventory.usage import Reservation, register_host_reservations, unregister_host_reservations
from migration.models import Migration
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def topo():
    return factories.topology()


def move(topo, workload, destination, state="precopy") -> Migration:
    return Migration.objects.create(
        workload=workload, source_host=workload.host, destination_host=destination,
        source_datastore=topo.ca_datastore, destination_datastore=topo.va_datastore, cloud_link=topo.ca_link_va,
        link_key=f"link:{topo.ca_link_va.pk}", state=state,
    )  # fmt: skip


def test_running_workloads_count_on_their_host_and_others_do_not(topo):
    host = topo.ca_hosts[0]
    factories.workload(host, memory_gib=4, vcpus=2)
    factories.workload(host, memory_gib=8, vcpus=4)
    factories.workload(host, memory_gib=16, vcpus=8, power_state=PowerState.OFF)
    factories.workload(host, memory_gib=32, vcpus=8, power_state=PowerState.SUSPENDED)
    usage = host_usage([host])[host.pk]
    assert (usage.memory_bytes, usage.vcpus) == (12 * GIB, 6)
    assert host_usage([topo.ca_hosts[1]])[topo.ca_hosts[1].pk].memory_bytes == 0  # nothing there: empty


def test_a_live_move_reserves_room_on_its_destination_until_it_ends(topo):
    source, destination = topo.ca_hosts[0], topo.va_hosts[0]
    moving = factories.workload(source, memory_gib=8, vcpus=4)
    cold = factories.workload(source, memory_gib=2, vcpus=1, power_state=PowerState.OFF)
    migration = move(topo, moving, destination)
    move(topo, cold, destination, state="queued")  # a cold move holds nothing: the workload runs nowhere
    usage = host_usage()
    assert usage[source.pk].memory_bytes == 8 * GIB  # still runs on its source
    assert (usage[destination.pk].memory_bytes, usage[destination.pk].vcpus) == (8 * GIB, 4)
    assert usage[destination.pk].running_memory_bytes == 0
    assert [r.why for r in usage[destination.pk].reservations] == [f"migration #{migration.pk}"]
    assert usage[destination.pk].without(moving).memory_bytes == 0  # re-checking its own move
    assert usage[source.pk].without(moving).memory_bytes == 0  # it does not count against where it runs
    Migration.objects.filter(pk=migration.pk).update(state="completed")
    assert host_usage([destination])[destination.pk].memory_bytes == 0


def test_site_usage_adds_the_hosts_of_the_site_and_the_moves_towards_it(topo):
    factories.workload(topo.ca_hosts[0], memory_gib=4, vcpus=2)
    moving = factories.workload(topo.ca_hosts[1], memory_gib=8, vcpus=4)
    move(topo, moving, topo.va_hosts[1])
    usage = site_usage()
    assert (usage[topo.ca.pk].memory_bytes, usage[topo.ca.pk].vcpus) == (12 * GIB, 6)
    assert (usage[topo.va.pk].memory_bytes, usage[topo.va.pk].reserved_memory_bytes) == (8 * GIB, 8 * GIB)
    assert site_usage([topo.va])[topo.va.pk].memory_bytes == 8 * GIB
    assert site_usage([topo.far])[topo.far.pk].memory_bytes == 0


def test_usage_of_every_host_reads_a_constant_number_of_queries(topo):
    for host in topo.ca_hosts + topo.va_hosts:
        moving = factories.workload(host, memory_gib=1, vcpus=1)
        move(topo, moving, topo.far_hosts[0], state="queued")
    with CaptureQueriesContext(connection) as queries:
        usage = host_usage()
    assert len(queries) == 2  # one aggregate of running workloads, one of the moves on their way
    assert usage[topo.far_hosts[0].pk].memory_bytes == 4 * GIB


def test_a_registered_reservation_counts_in_power_on_and_in_a_workloads_own_checks(topo):
    host = topo.ca_hosts[0]
    host.memory_bytes = 16 * GIB
    host.save()
    off = factories.workload(host, memory_gib=8, power_state=PowerState.OFF)
    held = Reservation(host.pk, topo.ca.pk, workload_id=0, memory_bytes=12 * GIB, vcpus=1, why="test")
    register_host_reservations("test.held", lambda hosts: [held])
    try:
        result = workloads_power_on(workloads=Workload.objects.filter(pk=off.pk))
        assert result.powered_on == [] and "has 4.0 GiB free" in result.refused[0]
        off.power_state = PowerState.ON
        with pytest.raises(ValidationError) as exc:
            off.full_clean()
        assert "4.0 GiB of memory free" in exc.value.message_dict["memory_bytes"][0]
    finally:
        unregister_host_reservations("test.held")
    assert workloads_power_on(workloads=Workload.objects.filter(pk=off.pk)).powered_on == [off]
