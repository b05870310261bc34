"""The source host's hypervisor decides the engine profile: KVM hosts migrate by QEMU's own rules."""

import pytest

from inventory.choices import Hypervisor
from inventory.models import Host
from migration.prechecks import engine_params, precheck_migration
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def topo():
    return factories.topology()


def as_kvm(host: Host) -> Host:
    Host.objects.filter(pk=host.pk).update(hypervisor=Hypervisor.KVM)
    host.refresh_from_db()
    return host


def params(vm, source, destination):
    return engine_params(
        workload=vm,
        bandwidth_bps=1.25e9,
        max_downtime_s=0.3,
        policy="throttle",
        source_host=source,
        destination_host=destination,
    )


def test_kvm_sources_predict_with_the_qemu_profile_others_with_the_generic_one(topo):
    source, destination = topo.ca_hosts[0], topo.ca_hosts[1]
    vm = factories.workload(source)
    assert source.hypervisor == destination.hypervisor == Hypervisor.ESXI
    assert params(vm, source, destination).profile == "generic"
    # the destination's hypervisor does not decide: the source runs the migration
    destination = as_kvm(destination)
    assert params(vm, source, destination).profile == "generic"
    source = as_kvm(source)
    assert params(vm, source, destination).profile == "qemu"
    # without hosts (the capacity planner's quick estimate) the generic model applies
    assert engine_params(workload=vm, bandwidth_bps=1.25e9, max_downtime_s=0.3, policy="throttle").profile == "generic"


def test_the_wizard_predicts_a_move_from_a_kvm_host(topo):
    source = as_kvm(topo.ca_hosts[0])
    vm = factories.workload(source, segment=topo.stretched)
    result = precheck_migration(workload=vm, destination_host=topo.va_hosts[0])
    assert result.errors == []
    assert result.prediction["total_time_s"] > 0 and result.prediction["rounds"] >= 1
