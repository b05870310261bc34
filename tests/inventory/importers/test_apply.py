"""Applying RVTools exports to the inventory: first import, the same file again (nothing moves), a later export
(update, add, remove), a removal refused because of an active migration, names that clash, and refused files that
change nothing."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from hybridcloud.core.models import AuditEntry
from hybridcloud.core.units import MIB
from inventory.choices import HostState, PowerState, SiteKind
from inventory.importers.apply import estate_import_apply
from inventory.importers.records import RVToolsRefused
from inventory.importers.runs import DEMO_EXAMPLE, rvtools_import
from inventory.importers.rvtools import parse_rvtools
from inventory.importers.samples import SampleVM, tabs_to_csv_dir, tabs_to_csv_zip, tabs_to_xlsx
from inventory.importers.sources import read_export
from inventory.models import Cluster, Datastore, Estate, Host, NetworkSegment, Site, Workload
from migration.models import Migration
from tests import factories
from tests.inventory.importers.builders import UUIDS, cell, small_estate

pytestmark = pytest.mark.django_db


def export_of(sample_or_tabs):
    tabs = sample_or_tabs if isinstance(sample_or_tabs, dict) else sample_or_tabs.tabs()
    return parse_rvtools(read_export(tabs_to_xlsx(tabs), filename="export.xlsx"))


def snapshot() -> dict:
    """Every row the import may touch, with its timestamps, and the audit trail."""
    return {
        "workloads": sorted(Workload.objects.values_list("external_id", "name", "memory_bytes", "ip_address",
                                                          "host_id", "segment_id", "updated_at")),
        "hosts": sorted(Host.objects.values_list("name", "cluster_id", "memory_bytes", "state")),
        "clusters": sorted(Cluster.objects.values_list("site_id", "name", "cpu_baseline")),
        "datastores": sorted(Datastore.objects.values_list("site_id", "name", "used_bytes")),
        "segments": sorted(NetworkSegment.objects.values_list("name", "cidr")),
        "sites": sorted(Site.objects.values_list("name", flat=True)),
        "estates": sorted(Estate.objects.values_list("name", "updated_at")),
        "audit": AuditEntry.objects.count(),
    }  # fmt: skip


def test_first_import_brings_in_the_estate_with_one_audit_entry():
    west = factories.site("West Coast DC")
    summary = estate_import_apply(export=export_of(small_estate()), site_choices={"DC-West": west.pk})
    estate = Estate.objects.get()
    assert estate.name == "vcenter01.corp.example" and estate.vcenter_uuid
    assert summary["counts"]["workloads"]["added"] == 5 and summary["templates_skipped"] == 1
    # DC-West went to the chosen site; DC-East (no site of that name) to a new private site.
    assert summary["datacenters"] == {"DC-West": "West Coast DC", "DC-East": "DC-East"}
    assert Site.objects.get(name="DC-East").kind == SiteKind.PRIVATE
    # Duplicate names across datacenters are two workloads, told apart by their UUIDs.
    web = Workload.objects.filter(name="web01").select_related("host__cluster__site").order_by("external_id")
    assert [(w.external_id, w.host.cluster.site.name) for w in web] == [(UUIDS[0], "West Coast DC"),
                                                                         (UUIDS[1], "DC-East")]  # fmt: skip
    sql = Workload.objects.get(external_id=UUIDS[2])
    assert sql.estate == estate and sql.memory_bytes == 65536 * MIB and sql.vcpus == 8
    assert sql.annotation.startswith('Owner: DBA team, "critical"\n') and sql.disk_used_bytes == 20 * 1024 * MIB
    # Dirty rates come from the assumptions table (a database role here), and the summary says so.
    assert (sql.dirty_rate_bps, sql.working_set_bytes) == (50_000_000, 32768 * MIB)
    assert "Database: 50 MB/s" in " ".join(summary["assumptions"]["applied"])
    assert Workload.objects.get(external_id=UUIDS[3]).ip_address is None
    assert Workload.objects.get(external_id=UUIDS[4]).power_state == PowerState.SUSPENDED
    # Hosts, clusters and datastores.
    host = Host.objects.get(name="esx-w2.corp.example")
    assert (host.state, host.migration_mtu_bytes, host.migration_nic_gbps) == (HostState.MAINTENANCE, 9000, 10)
    assert host.evc_mode == "intel-cascadelake" and host.cpu_model.startswith("Intel(R) Xeon(R) Gold 6248")
    east = Cluster.objects.get(name="east-prod")
    assert (east.cpu_vendor, east.cpu_baseline) == ("amd", "amd-zen3")  # EPYC 7763 is Milan
    assert set(Datastore.objects.get(name="east-nfs").hosts.values_list("name", flat=True)) == {
        "esx-e1.corp.example", "esx-e2.corp.example"}  # fmt: skip
    # The port groups became segments, one per datacenter (same name twice: told apart by the datacenter).
    assert {s.name for s in NetworkSegment.objects.all()} >= {"web-pg", "web-pg (DC-West)", "db-pg", "app-pg"}
    assert Workload.objects.get(external_id=UUIDS[0]).segment.cidr == "10.1.0.0/24"
    # One audit entry for the whole import, with its summary.
    entries = AuditEntry.objects.filter(action="inventory.import")
    assert entries.count() == 1 and AuditEntry.objects.count() == 1
    assert entries[0].after["counts"]["workloads"]["added"] == 5 and entries[0].object_repr == estate.name


def test_the_same_file_twice_changes_nothing():
    sample = small_estate()
    estate_import_apply(export=export_of(sample))
    before = snapshot()
    summary = estate_import_apply(export=parse_rvtools(read_export(tabs_to_csv_zip(sample.tabs()))))
    assert summary["changes"] == 0 and summary["headline"].startswith("0 changes")
    assert all(c["added"] == c["updated"] == c["removed"] == 0 for c in summary["counts"].values())
    after = snapshot()
    assert after["audit"] == before["audit"] + 1  # the import itself, nothing per row
    before.pop("audit"), after.pop("audit")
    assert after == before  # no row and no updated_at moved


def test_a_later_export_updates_adds_and_removes():
    sample = small_estate()
    estate_import_apply(export=export_of(sample))
    untouched = Workload.objects.get(external_id=UUIDS[1]).updated_at
    measured = Workload.objects.get(external_id=UUIDS[0])
    Workload.objects.filter(pk=measured.pk).update(dirty_rate_bps=77_000_000)  # someone measured it
    sample.vms[0].memory_mib = 8192  # web01 in DC-West grew
    sample.vms[0].ip = "10.1.0.12"
    del sample.vms[4]  # app-07 is gone
    sample.vms.append(
        SampleVM(
            name="web02",
            host="esx-w1.corp.example",
            datacenter="DC-West",
            cluster="west-prod",
            datastore="west-vsan",
            uuid=UUIDS[9],
            ip="10.1.0.13",
            networks=("web-pg",),
        )
    )
    sample.hosts[1].maintenance = False
    summary = estate_import_apply(export=export_of(sample))
    assert summary["counts"]["workloads"] == {"added": 1, "updated": 1, "removed": 1, "unchanged": 3, "kept": []}
    assert summary["counts"]["hosts"]["updated"] == 1
    grown = Workload.objects.get(external_id=UUIDS[0])
    assert (grown.memory_bytes, grown.ip_address, grown.dirty_rate_bps) == (8192 * MIB, "10.1.0.12", 77_000_000)
    assert not Workload.objects.filter(external_id=UUIDS[4]).exists()
    assert Workload.objects.filter(external_id=UUIDS[9], name="web02").exists()
    assert Workload.objects.get(external_id=UUIDS[1]).updated_at == untouched
    assert Host.objects.get(name="esx-w2.corp.example").state == HostState.CONNECTED
    # The segment app-07 alone used is gone with it.
    assert not NetworkSegment.objects.filter(name="app-pg").exists()
    assert summary["counts"]["segments"]["removed"] == 1


def test_a_removed_vm_with_an_active_migration_refuses_the_whole_import():
    sample = small_estate()
    estate_import_apply(export=export_of(sample))
    moving = Workload.objects.get(external_id=UUIDS[4])
    other = Host.objects.get(name="esx-e1.corp.example")
    migration = Migration.objects.create(workload=moving, source_host=moving.host, destination_host=other,
                                         source_datastore=moving.datastore, destination_datastore=moving.datastore,
                                         state="precopy")  # fmt: skip
    before = snapshot()
    del sample.vms[4]
    sample.vms[0].memory_mib = 8192  # a change that must not be applied either
    with pytest.raises(RVToolsRefused) as caught:
        estate_import_apply(export=export_of(sample))
    assert [str(p) for p in caught.value.problems] == [
        f"vInfo, column 'VM UUID': VM app-07 ({UUIDS[4]}) is no longer in the export but cannot be removed: "
        f"migration #{migration.pk} is precopy; let it finish or cancel it, then import again"
    ]
    assert snapshot() == before
    # Once the migration has finished, the same file goes through.
    Migration.objects.filter(pk=migration.pk).update(state="completed")
    summary = estate_import_apply(export=export_of(sample))
    assert summary["counts"]["workloads"]["removed"] == 1


def test_names_that_belong_to_something_else_are_refused():
    t = factories.topology()
    sample = small_estate()
    sample.hosts[0].name = t.ca_hosts[0].name
    for vm in sample.vms:
        vm.host = t.ca_hosts[0].name if vm.host == "esx-w1.corp.example" else vm.host
    sample.datastores[0].hosts[0] = t.ca_hosts[0].name
    before = snapshot()
    with pytest.raises(RVToolsRefused) as caught:
        estate_import_apply(export=export_of(sample))
    assert f"vHost row 2, column 'Host': host {t.ca_hosts[0].name} already exists in the inventory and is not this " \
           "estate's (host names are unique)" in [str(p) for p in caught.value.problems]  # fmt: skip
    assert snapshot() == before


def test_a_port_group_named_like_a_segment_of_the_site_joins_it():
    t = factories.topology()
    sample = small_estate()
    for vm in sample.vms:
        if vm.datacenter == "DC-West":
            vm.networks = (t.stretched.name,)
    network = t.stretched.network
    sample.vms[0].ip = str(network.network_address + 200)
    summary = estate_import_apply(export=export_of(sample), site_choices={"DC-West": t.ca.pk})
    web = Workload.objects.get(external_id=UUIDS[0])
    assert web.segment == t.stretched and web.host.cluster.site == t.ca
    assert summary["datacenters"]["DC-West"] == t.ca.name
    # Not the estate's: a later import that no longer uses it leaves it alone.
    assert NetworkSegment.objects.get(pk=t.stretched.pk).estate is None


def test_a_refused_file_changes_nothing_and_the_command_says_why(tmp_path, capsys):
    sample = small_estate()
    estate_import_apply(export=export_of(sample))
    before = snapshot()
    tabs = sample.tabs()
    cell(tabs, "vInfo", 2, "CPUs", "eight")
    cell(tabs, "vInfo", 3, "Host", "esx-nowhere")
    path = tmp_path / "broken.xlsx"
    path.write_bytes(tabs_to_xlsx(tabs))
    with pytest.raises(CommandError, match="broken.xlsx refused: 2 problem"):
        call_command("import_rvtools", str(path))
    err = capsys.readouterr().err
    assert "vInfo row 2, column 'CPUs': 'eight' is not a number" in err
    assert "vInfo row 3, column 'Host': host 'esx-nowhere' is not in vHost (VM web01)" in err
    assert snapshot() == before


def test_the_command_imports_a_csv_folder_with_a_line_per_tab(tmp_path, capsys):
    site = factories.site("Frankfurt DC")
    folder = tabs_to_csv_dir(small_estate().tabs(), tmp_path / "export")
    call_command("import_rvtools", str(folder), "--site", "DC-East=Frankfurt DC", "--estate", "Corp")
    out = capsys.readouterr().out
    for tab in ("vHost", "vCluster", "vDatastore", "vNIC", "vSC_VMK", "vInfo", "vNetwork"):
        assert f"\n{tab}" in "\n" + out
    assert "Estate Corp:" in out and "datacenter DC-East → site Frankfurt DC" in out
    assert "templates skipped: 1" in out
    assert Workload.objects.filter(estate__name="Corp", host__cluster__site=site).count() == 3
    with pytest.raises(CommandError, match="no site named 'Atlantis'"):
        call_command("import_rvtools", str(folder), "--site", "DC-East=Atlantis")


def test_the_demo_example_lands_on_the_demo_sites_and_seed_demo_reset_still_wipes(capsys):
    call_command("seed_demo", workloads=10, no_extensions=True, verbosity=0)
    summary = rvtools_import(source=DEMO_EXAMPLE)
    assert summary["datacenters"] == {"California DC": "California DC", "Virginia DC": "Virginia DC"}
    assert summary["counts"]["workloads"]["added"] == 36 and summary["counts"]["sites"]["added"] == 0
    assert summary["warning_count"] == 0  # its addresses stay clear of the seeded ones
    call_command("seed_demo", workloads=10, no_extensions=True, reset=True, verbosity=0)
    assert not Estate.objects.exists() and not Workload.objects.filter(estate__isnull=False).exists()


def test_hosts_the_export_drops_but_something_still_uses_are_kept_and_listed():
    t = factories.topology()
    sample = small_estate()
    estate_import_apply(export=export_of(sample))
    w2 = Host.objects.get(name="esx-w2.corp.example")
    e2 = Host.objects.get(name="esx-e2.corp.example")
    # A workload from elsewhere now runs on esx-w2; migration history names esx-e2.
    foreign = factories.workload(t.ca_hosts[0], name="moved-here", segment=t.ca_local)
    Workload.objects.filter(pk=foreign.pk).update(host=w2, datastore=Datastore.objects.get(name="west-vsan"))
    Migration.objects.create(workload=foreign, source_host=e2, destination_host=t.ca_hosts[0],
                             source_datastore=t.ca_datastore, destination_datastore=t.ca_datastore,
                             state="completed")  # fmt: skip
    sample.hosts = [h for h in sample.hosts if h.name not in ("esx-w2.corp.example", "esx-e2.corp.example")]
    for d in sample.datastores:
        d.hosts = [h for h in d.hosts if h in {x.name for x in sample.hosts}]
    for vm in sample.vms:
        vm.host = {"esx-w2.corp.example": "esx-w1.corp.example", "esx-e2.corp.example": "esx-e1.corp.example"}.get(
            vm.host, vm.host
        )
    summary = estate_import_apply(export=export_of(sample))
    hosts = summary["counts"]["hosts"]
    assert hosts["removed"] == 0 and Host.objects.filter(pk__in=[w2.pk, e2.pk]).count() == 2
    assert "host esx-e2.corp.example" in hosts["kept"]  # the migration history protects it
    assert "1 still used by workloads from elsewhere" in hosts["kept"]  # the foreign workload on esx-w2
    assert Workload.objects.get(pk=foreign.pk).host == w2


def test_addresses_already_taken_or_outside_a_joined_segment_are_warned_about():
    t = factories.topology()
    taken = factories.workload(t.ca_hosts[0], name="already-here", segment=t.stretched)
    sample = small_estate()
    for vm in sample.vms:
        if vm.datacenter == "DC-West":
            vm.networks = (t.stretched.name,)
    sample.vms[0].ip = taken.ip_address  # clashes with a workload already on that segment
    sample.vms[2].ip = "192.168.77.5"  # outside the segment
    summary = estate_import_apply(export=export_of(sample), site_choices={"DC-West": t.ca.pk})
    assert Workload.objects.get(external_id=UUIDS[0]).ip_address is None
    assert summary["warnings"] == [
        f"vInfo row 2: VM web01 reports {taken.ip_address}, already used on segment {t.stretched.name}; imported "
        "without an IP",
        f"vInfo row 4: VM sql-prod-01 reports 192.168.77.5, outside segment {t.stretched.name} ({t.stretched.cidr})",
    ]
