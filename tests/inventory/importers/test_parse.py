"""Reading and validating RVTools exports: real headers, both unit spellings, the awkward rows, and every kind of
refusal naming its tab, row and column. No database."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

from hybridcloud.core.units import MIB
from inventory.importers.records import MAX_LISTED_PROBLEMS, RVToolsRefused
from inventory.importers.runs import problems_payload
from inventory.importers.rvtools import parse_rvtools
from inventory.importers.samples import tabs_to_csv_dir, tabs_to_csv_zip, tabs_to_xlsx
from inventory.importers.sources import ExportUnreadable, read_export
from tests.inventory.importers.builders import UUIDS, cell, drop_column, small_estate


def parse_xlsx(tabs):
    return parse_rvtools(read_export(tabs_to_xlsx(tabs), filename="export.xlsx"))


def refusal(tabs) -> list[str]:
    with pytest.raises(RVToolsRefused) as caught:
        parse_xlsx(tabs)
    return [str(p) for p in caught.value.problems]


def test_xlsx_csv_zip_and_csv_folder_read_the_same(tmp_path):
    tabs = small_estate().tabs()
    from_xlsx = parse_rvtools(read_export(tabs_to_xlsx(tabs), filename="e.xlsx"))
    from_zip = parse_rvtools(read_export(tabs_to_csv_zip(tabs), filename="e.zip"))
    from_dir = parse_rvtools(read_export(tabs_to_csv_dir(tabs, tmp_path / "csv")))
    for export in (from_zip, from_dir):
        assert [(v.uuid, v.name, v.memory_bytes, v.ip_address, v.annotation) for v in export.vms] == [
            (v.uuid, v.name, v.memory_bytes, v.ip_address, v.annotation) for v in from_xlsx.vms
        ]
        assert export.hosts.keys() == from_xlsx.hosts.keys()


def test_the_awkward_rows_come_through_intact():
    export = parse_rvtools(read_export(tabs_to_csv_zip(small_estate().tabs()), filename="e.zip"))
    by_uuid = {vm.uuid: vm for vm in export.vms}
    # The template is skipped and counted; everything else is there, both web01s included.
    assert export.templates_skipped == 1
    assert UUIDS[5] not in by_uuid
    assert sorted(vm.name for vm in export.vms).count("web01") == 2
    assert {by_uuid[UUIDS[0]].datacenter, by_uuid[UUIDS[1]].datacenter} == {"DC-West", "DC-East"}
    # A multi-line annotation with commas and quotes survives CSV quoting.
    assert (
        by_uuid[UUIDS[2]].annotation
        == 'Owner: DBA team, "critical"\nBackups: nightly, 02:00\nTicket CHG-1234, CHG-1250'
    )
    assert by_uuid[UUIDS[2]].networks == ("db-pg", "backup-pg")
    assert by_uuid[UUIDS[2]].guest_os == "Microsoft Windows Server 2022"
    assert by_uuid[UUIDS[3]].name == "café-büro-😀" and by_uuid[UUIDS[3]].ip_address is None
    assert {vm.power_state for vm in export.vms} == {"on", "off", "suspended"}
    # Hosts: maintenance, CPU, vMotion MTU and the fastest NIC.
    west, east = export.hosts["esx-w2.corp.example"], export.hosts["esx-e1.corp.example"]
    assert west.maintenance and not east.maintenance
    assert (west.migration_mtu, west.migration_nic_gbps) == (9000, 10)
    assert (east.migration_mtu, east.migration_nic_gbps, east.ghz) == (1500, 25, 2.45)
    assert export.vcenter == "vcenter01.corp.example" and export.vcenter_uuid


def test_mb_and_mib_headers_give_the_same_sizes():
    mib = parse_xlsx(small_estate().tabs())
    mb = parse_xlsx(small_estate(mb_headers=True).tabs())
    assert "Provisioned MB" in small_estate(mb_headers=True).tabs()["vInfo"][0]
    assert [(v.provisioned_bytes, v.in_use_bytes) for v in mb.vms] == [
        (v.provisioned_bytes, v.in_use_bytes) for v in mib.vms
    ]
    assert mb.vms[0].provisioned_bytes == 40 * 1024 * MIB
    assert [d.capacity_bytes for d in mb.datastores.values()] == [d.capacity_bytes for d in mib.datastores.values()]


def test_a_missing_required_tab_is_named():
    tabs = small_estate().tabs()
    del tabs["vHost"]
    assert refusal(tabs) == ["vHost: required tab missing"]


def test_a_missing_required_column_is_named_on_the_header_row():
    tabs = small_estate().tabs()
    drop_column(tabs, "vInfo", "VM UUID")
    assert "vInfo row 1, column 'VM UUID': required column 'VM UUID' missing" in refusal(tabs)
    tabs = small_estate().tabs()
    drop_column(tabs, "vInfo", "Provisioned MiB")
    assert any("column 'Provisioned MiB'" in p and "'Provisioned MB'" in p for p in refusal(tabs))


def test_a_vm_on_a_host_the_file_does_not_list_is_refused():
    tabs = small_estate().tabs()
    cell(tabs, "vInfo", 3, "Host", "esx-ghost.corp.example")
    assert refusal(tabs) == ["vInfo row 3, column 'Host': host 'esx-ghost.corp.example' is not in vHost (VM web01)"]


def test_a_non_number_where_a_number_belongs_is_refused():
    tabs = small_estate().tabs()
    cell(tabs, "vInfo", 4, "Memory", "lots")
    cell(tabs, "vHost", 2, "# Cores", "")
    problems = refusal(tabs)
    assert "vInfo row 4, column 'Memory': 'lots' is not a number" in problems
    assert "vHost row 2, column '# Cores': '(empty)' is not a number" in problems


def test_a_bad_or_repeated_uuid_is_refused():
    tabs = small_estate().tabs()
    cell(tabs, "vInfo", 2, "VM UUID", "not-a-uuid")
    cell(tabs, "vInfo", 5, "VM UUID", UUIDS[1])
    problems = refusal(tabs)
    assert "vInfo row 2, column 'VM UUID': 'not-a-uuid' is not a UUID (VM web01)" in problems
    assert f"vInfo row 5, column 'VM UUID': VM UUID {UUIDS[1]} is used twice (also row 3)" in problems


def test_other_inconsistencies_are_refused():
    tabs = small_estate().tabs()
    cell(tabs, "vInfo", 2, "Powerstate", "running")
    cell(tabs, "vInfo", 3, "Datacenter", "DC-West")  # its host is in DC-East
    cell(tabs, "vInfo", 4, "Path", "[nowhere] sql/sql.vmx")
    cell(tabs, "vInfo", 5, "Primary IP Address", "10.2.0.999")
    cell(tabs, "vDatastore", 2, "Hosts", "esx-w1.corp.example, esx-gone")
    problems = refusal(tabs)
    assert "vInfo row 2, column 'Powerstate': 'running' is not poweredOn, poweredOff or suspended" in problems
    assert any(p.startswith("vInfo row 3, column 'Datacenter': VM web01 is in datacenter 'DC-West'") for p in problems)
    assert any(p.startswith("vInfo row 4, column 'Path': datastore 'nowhere' is not in vDatastore") for p in problems)
    assert any(p.startswith("vInfo row 5, column 'Primary IP Address': '10.2.0.999'") for p in problems)
    assert any(p.startswith("vDatastore row 2, column 'Hosts': host esx-gone is not in vHost") for p in problems)


def test_every_problem_is_counted_and_the_first_50_listed():
    tabs = small_estate().tabs()
    for _ in range(60):
        tabs["vInfo"].append(list(tabs["vInfo"][1]))
        tabs["vInfo"][-1][tabs["vInfo"][0].index("CPUs")] = "two"
    with pytest.raises(RVToolsRefused) as caught:
        parse_xlsx(tabs)
    listed, count = problems_payload(caught.value)
    assert count == len(caught.value.problems) >= 120  # each copy: a non-number and a repeated UUID
    assert len(listed) == MAX_LISTED_PROBLEMS
    assert listed[0].startswith("vInfo row 8")


def test_a_csv_that_is_not_utf8_is_refused_with_its_tab_and_row():
    tabs = small_estate().tabs()
    data = tabs_to_csv_zip({k: v for k, v in tabs.items() if k != "vInfo"})
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("RVTools_tabvInfo.csv", "VM,Annotation\nweb01,ok\nweb02,caf\xe9\n".encode("latin-1"))
    with pytest.raises(ExportUnreadable, match=r"vInfo \(RVTools_tabvInfo.csv\) row 3: not UTF-8"):
        read_export(out.getvalue(), filename="latin1.zip")


def test_zip_path_traversal_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("../../etc/RVTools_tabvInfo.csv", "VM\n")
    with pytest.raises(ExportUnreadable, match="points outside the archive"):
        read_export(out.getvalue(), filename="evil.zip")


def test_a_zip_bomb_is_refused_before_it_is_expanded():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("RVTools_tabvInfo.csv", b"0" * (64 * MIB))
    assert len(out.getvalue()) < MIB
    with pytest.raises(ExportUnreadable, match="a zip bomb"):
        read_export(out.getvalue(), filename="bomb.zip")


def test_files_that_are_not_exports_are_refused():
    with pytest.raises(ExportUnreadable, match="neither an .xlsx workbook nor a .zip"):
        read_export(b"%PDF-1.7 ...", filename="report.pdf")
    with pytest.raises(ExportUnreadable, match="a single CSV file is one tab"):
        read_export(b"VM,CPUs\n", filename="RVTools_tabvInfo.csv")
    with pytest.raises(ExportUnreadable, match="damaged"):
        read_export(b"PK\x03\x04garbage", filename="broken.xlsx")


def test_a_semicolon_separated_csv_export_with_a_bom_reads_the_same():
    tabs = small_estate().tabs()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for tab, rows in tabs.items():
            text = io.StringIO(newline="")
            csv.writer(text, delimiter=";").writerows(rows)
            archive.writestr(f"export/RVTools_tab{tab}.csv", "\ufeff" + text.getvalue())
    export = parse_rvtools(read_export(out.getvalue(), filename="semicolons.zip"))
    assert [(v.uuid, v.name, v.annotation) for v in export.vms] == [
        (v.uuid, v.name, v.annotation) for v in parse_xlsx(tabs).vms
    ]
