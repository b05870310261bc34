"""Pre-checks: each rule refuses (or warns about) a move with a sentence a person understands."""

import pytest

from inventory.choices import CpuBaseline, HostState, PowerState
from inventory.models import Workload
from migration.choices import MigrationKind
from migration.models import Migration
from migration.placement import place_workload
from migration.prechecks import (
    PrecheckContext,
    host_checks,
    precheck_migration,
    register_host_refusal,
    unregister_host_refusal,
)
from tests import factories


def place(workload, site):
    """Placement as the pre-checks run it: with their host checks and a fresh context."""
    return place_workload(workload=workload, site=site, host_checks=host_checks, context=PrecheckContext())


pytestmark = pytest.mark.django_db


@pytest.fixture
def topo():
    return factories.topology()


def test_move_between_sites_over_stretched_segment_passes_with_a_prediction(topo):
    vm = factories.workload(topo.ca_hosts[0], segment=topo.stretched)
    result = precheck_migration(workload=vm, destination_host=topo.va_hosts[0])
    assert result.errors == []
    assert result.kind == MigrationKind.LIVE_STORAGE  # va hosts do not see ca-vsan
    assert result.prediction["rounds"] >= 1
    assert result.prediction["total_time_s"] > 0
    assert 0 < result.prediction["downtime_s"] < 0.3
    assert result.link_key == f"link:{topo.ca_link_va.pk}"


def test_same_site_move_on_shared_datastore_is_plain_live(topo):
    vm = factories.workload(topo.ca_hosts[0])
    result = precheck_migration(workload=vm, destination_host=topo.ca_hosts[1])
    assert result.errors == [] and result.warnings == []
    assert result.kind == MigrationKind.LIVE
    assert result.link_key == f"host:{topo.ca_hosts[0].pk}"


def test_segment_missing_at_destination_is_an_error_unless_readdressing_accepted(topo):
    vm = factories.workload(topo.ca_hosts[0], segment=topo.ca_local)
    refused = precheck_migration(workload=vm, destination_host=topo.va_hosts[0])
    assert any("IP" in e and "would change" in e and vm.ip_address in e for e in refused.errors)
    accepted = precheck_migration(workload=vm, destination_host=topo.va_hosts[0], accept_readdressing=True)
    assert accepted.errors == []
    assert any("new address" in w for w in accepted.warnings)
    assert accepted.destination_segment == topo.va_local


def test_rtt_above_150_ms_is_refused_with_the_number(topo):
    vm = factories.workload(topo.ca_hosts[0], segment=topo.stretched)
    result = precheck_migration(workload=vm, destination_host=topo.far_hosts[0])
    assert any("160 ms" in e and "150 ms" in e for e in result.errors)


def test_no_link_between_sites_is_refused(topo):
    vm = factories.workload(topo.va_hosts[0], segment=topo.stretched)
    result = precheck_migration(workload=vm, destination_host=topo.far_hosts[0])
    assert any("no cloud link between Virginia DC and Sydney region" in e for e in result.errors)


def test_a_busy_link_is_no_refusal_the_move_waits_for_its_slot(topo):
    """250 Mbit/s per migration is the link's admission limit (see tests/migration/test_admission.py), not an error."""
    topo.ca_link_va.bandwidth_mbit = 400
    topo.ca_link_va.save()
    busy = factories.workload(topo.ca_hosts[1], segment=topo.stretched)
    from migration.services import migration_start

    migration_start(workload=busy, destination_host=topo.va_hosts[1], override_reason="test")
    vm = factories.workload(topo.ca_hosts[0], segment=topo.stretched)
    result = precheck_migration(workload=vm, destination_host=topo.va_hosts[0])
    assert not result.errors
    # It is predicted at the share it will run at (1 slot: alone on the link), not at 200 Mbit/s.
    assert result.prediction["sharing"] == 1


def test_a_link_too_slow_for_even_one_move_is_refused(topo):
    topo.ca_link_va.bandwidth_mbit = 200
    topo.ca_link_va.save()
    vm = factories.workload(topo.ca_hosts[0], segment=topo.stretched)
    result = precheck_migration(workload=vm, destination_host=topo.va_hosts[0])
    assert any("200 Mbit/s, less than the 250 Mbit/s" in e and "not even one move" in e for e in result.errors)


def test_cpu_vendor_mismatch_is_refused(topo):
    amd = factories.cluster(topo.va, "va-amd", CpuBaseline.AMD_ZEN3)
    amd_host = factories.host(amd, "va-amd-01")
    topo.va_datastore.hosts.add(amd_host)
    vm = factories.workload(topo.ca_hosts[0], segment=topo.stretched)
    result = precheck_migration(workload=vm, destination_host=amd_host)
    assert any("AMD CPUs" in e and "Intel" in e for e in result.errors)


def test_older_cpu_baseline_is_refused(topo):
    old = factories.cluster(topo.ca, "ca-old", CpuBaseline.INTEL_SKYLAKE)
    old_host = factories.host(old, "ca-old-01")
    topo.ca_datastore.hosts.add(old_host)
    vm = factories.workload(topo.ca_hosts[0])
    result = precheck_migration(workload=vm, destination_host=old_host)
    assert any("Intel Skylake is older than" in e for e in result.errors)


def test_destination_without_memory_is_refused_with_numbers(topo):
    small = factories.host(topo.ca_cluster, "ca-small", memory_gib=8)
    topo.ca_datastore.hosts.add(small)
    factories.workload(small, memory_gib=6)
    vm = factories.workload(topo.ca_hosts[0], memory_gib=4)
    result = precheck_migration(workload=vm, destination_host=small)
    assert any("2.0 GiB of memory free" in e and "needs 4.0 GiB" in e for e in result.errors)


def test_destination_in_maintenance_is_refused(topo):
    topo.ca_hosts[1].state = HostState.MAINTENANCE
    topo.ca_hosts[1].save()
    vm = factories.workload(topo.ca_hosts[0])
    result = precheck_migration(workload=vm, destination_host=topo.ca_hosts[1])
    assert any("is maintenance" in e or "in maintenance" in e or "maintenance" in e for e in result.errors)


def test_same_host_is_refused(topo):
    vm = factories.workload(topo.ca_hosts[0])
    result = precheck_migration(workload=vm, destination_host=topo.ca_hosts[0])
    assert any("already runs on host" in e for e in result.errors)


def test_second_active_migration_of_a_workload_is_refused(topo):
    from migration.services import migration_start

    vm = factories.workload(topo.ca_hosts[0])
    first = migration_start(workload=vm, destination_host=topo.ca_hosts[1])
    result = precheck_migration(workload=vm, destination_host=topo.ca_hosts[1])
    assert any(f"migration #{first.pk}" in e for e in result.errors)


def test_powered_off_workload_moves_cold_with_a_warning(topo):
    vm = factories.workload(topo.ca_hosts[0], power_state=PowerState.OFF)
    result = precheck_migration(workload=vm, destination_host=topo.ca_hosts[1])
    assert result.errors == []
    assert result.kind == MigrationKind.COLD
    assert any("moved cold" in w for w in result.warnings)


def test_storage_move_warns_and_predicts_disk_transfer_time(topo):
    vm = factories.workload(topo.ca_hosts[0], segment=topo.stretched, disk_gib=100)
    result = precheck_migration(workload=vm, destination_host=topo.va_hosts[0])
    assert result.prediction["storage_time_s"] > 80  # 100 GiB at 1.25 GB/s
    assert any("cannot see datastore ca-vsan" in w and "100 GiB" in w for w in result.warnings)


def test_non_converging_move_gets_suggestions_with_predicted_outcomes(topo, steady_world):
    vm = factories.workload(topo.ca_hosts[0], memory_gib=64, dirty_rate_bps=8_000_000_000)
    vm.working_set_bytes = vm.memory_bytes
    vm.save()
    result = precheck_migration(workload=vm, destination_host=topo.ca_hosts[1], policy="abort")
    assert result.errors == []
    assert result.prediction["converged"] is False
    kinds = {s["kind"] for s in result.suggestions}
    assert {"throttle", "link"} <= kinds
    for suggestion in result.suggestions:
        assert suggestion["prediction"]["rounds"] >= 1
        assert suggestion["prediction"]["total_time_s"] > 0


def test_placement_picks_the_host_with_most_free_memory_and_says_why(topo):
    factories.workload(topo.va_hosts[0], memory_gib=200, segment=topo.stretched)
    vm = factories.workload(topo.ca_hosts[0], segment=topo.stretched)
    placement = place(vm, topo.va)
    assert placement.host == topo.va_hosts[1]
    assert "most memory free" in placement.reason
    result = precheck_migration(workload=vm, destination_site=topo.va)
    assert result.destination_host == topo.va_hosts[1]
    assert result.placement_reason == placement.reason


def test_placement_on_a_site_without_room_says_why(topo):
    vm = factories.workload(topo.ca_hosts[0], segment=topo.stretched, memory_gib=600)
    result = precheck_migration(workload=vm, destination_site=topo.va)
    assert result.errors and "No host on Virginia DC" in result.errors[0]


def test_storage_move_of_a_disk_writer_predicts_mirrored_writes_more_bytes_and_a_longer_move(topo):
    quiet = factories.workload(topo.ca_hosts[0], segment=topo.stretched, disk_gib=100)
    writer = factories.workload(topo.ca_hosts[0], segment=topo.stretched, disk_gib=100)
    Workload.objects.filter(pk=writer.pk).update(disk_write_rate_bps=200_000_000)
    writer.refresh_from_db()
    calm = precheck_migration(workload=quiet, destination_host=topo.va_hosts[0]).prediction
    busy = precheck_migration(workload=writer, destination_host=topo.va_hosts[0]).prediction
    assert calm["storage_time_s"] > 80
    # About 86 s of disk copy while the guest writes 200 MB/s: gigabytes of mirrored writes on top.
    assert busy["bytes_sent"] > calm["bytes_sent"] + 10e9
    assert busy["storage_time_s"] > calm["storage_time_s"] * 1.1
    assert busy["total_time_s"] > calm["total_time_s"] * 1.1


def test_disk_write_rate_changes_nothing_without_a_storage_move_or_when_powered_off(topo):
    quiet = factories.workload(topo.ca_hosts[0])
    writer = factories.workload(topo.ca_hosts[0])
    # The same workload (the same dirty-rate pattern) before and after it writes to its disk.
    before = precheck_migration(workload=writer, destination_host=topo.ca_hosts[1]).prediction
    Workload.objects.filter(pk=writer.pk).update(disk_write_rate_bps=200_000_000)
    writer.refresh_from_db()
    after = precheck_migration(workload=writer, destination_host=topo.ca_hosts[1]).prediction
    assert before["bytes_sent"] == pytest.approx(after["bytes_sent"], rel=1e-6)  # the clock moved a little
    Workload.objects.filter(pk__in=[quiet.pk, writer.pk]).update(power_state=PowerState.OFF, segment=topo.stretched)
    quiet.refresh_from_db()
    writer.refresh_from_db()
    cold = [precheck_migration(workload=vm, destination_host=topo.va_hosts[0]).prediction for vm in (quiet, writer)]
    assert cold[0]["storage_time_s"] > 0
    assert cold[0]["bytes_sent"] == cold[1]["bytes_sent"]


def test_a_registered_host_refusal_is_an_error_and_placement_passes_over_the_host(topo):
    vm = factories.workload(topo.ca_hosts[0], segment=topo.stretched)
    refused_host = topo.va_hosts[0]
    reads = []

    def draining():
        reads.append(1)  # read once per context, however many hosts are weighed
        return lambda host: f"Host {host.name} is draining." if host.pk == refused_host.pk else None

    register_host_refusal("test.draining", draining)
    try:
        context = PrecheckContext()
        result = precheck_migration(workload=vm, destination_host=refused_host, context=context)
        assert f"Host {refused_host.name} is draining." in result.errors
        placed = precheck_migration(workload=vm, destination_site=topo.va, context=context)
        assert placed.errors == [] and placed.destination_host == topo.va_hosts[1]
        assert reads == [1]
    finally:
        unregister_host_refusal("test.draining")
    assert precheck_migration(workload=vm, destination_host=refused_host).errors == []


def test_a_move_on_its_way_takes_room_on_its_destination(topo):
    destination = topo.ca_hosts[1]
    destination.memory_bytes = 16 * 2**30
    destination.save()
    first = factories.workload(topo.ca_hosts[0], memory_gib=12)
    second = factories.workload(topo.ca_hosts[0], memory_gib=8)
    Migration.objects.create(
        workload=first, source_host=first.host, destination_host=destination, source_datastore=topo.ca_datastore,
        destination_datastore=topo.ca_datastore, link_key=f"host:{first.host_id}", state="queued",
    )  # fmt: skip
    result = precheck_migration(workload=second, destination_host=destination)
    assert any("4.0 GiB of memory free" in e and "on their way" in e for e in result.errors)
