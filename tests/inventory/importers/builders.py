"""Small RVTools-shaped estates for the importer's tests, built with the product's own sample builder (real headers)."""

from __future__ import annotations

import copy

from inventory.importers.samples import RVToolsSample, SampleDatastore, SampleHost, SampleVM

UUIDS = [f"4217{i:04x}-1c2d-4e5f-8a9b-{i:012x}" for i in range(1, 200)]


def small_estate(*, mb_headers: bool = False) -> RVToolsSample:
    """Two datacenters (DC-West, DC-East), a cluster and two hosts each, a shared datastore each, and VMs covering
    the awkward cases: the same name in both datacenters, a template, an annotation over several lines with
    commas and quotes, unicode names, an empty IP, every power state."""
    hosts = [
        SampleHost("esx-w1.corp.example", "DC-West", "west-prod"),
        SampleHost("esx-w2.corp.example", "DC-West", "west-prod", maintenance=True),
        SampleHost("esx-e1.corp.example", "DC-East", "east-prod", cpu_model="AMD EPYC 7763 64-Core Processor",
                   evc="", speed_mhz=2450, nic_speed_mb=25000, vmotion_mtu=1500),
        SampleHost("esx-e2.corp.example", "DC-East", "east-prod", cpu_model="AMD EPYC 7763 64-Core Processor",
                   evc="", speed_mhz=2450, nic_speed_mb=25000, vmotion_mtu=1500),
    ]  # fmt: skip
    datastores = [
        SampleDatastore("west-vsan", ["esx-w1.corp.example", "esx-w2.corp.example"]),
        SampleDatastore("east-nfs", ["esx-e1.corp.example", "esx-e2.corp.example"], type="NFS"),
    ]

    def vm(i, name, host, dc, cluster, ds, **kw):
        return SampleVM(name=name, host=host, datacenter=dc, cluster=cluster, datastore=ds, uuid=UUIDS[i], **kw)

    vms = [
        vm(0, "web01", "esx-w1.corp.example", "DC-West", "west-prod", "west-vsan", ip="10.1.0.11",
           networks=("web-pg",)),
        vm(1, "web01", "esx-e1.corp.example", "DC-East", "east-prod", "east-nfs", ip="10.2.0.11",
           networks=("web-pg",)),
        vm(2, "sql-prod-01", "esx-w1.corp.example", "DC-West", "west-prod", "west-vsan", ip="10.1.1.20", cpus=8,
           memory_mib=65536, networks=("db-pg", "backup-pg"), os_config="Microsoft Windows Server 2022 (64-bit)",
           os_tools="Microsoft Windows Server 2022",
           annotation='Owner: DBA team, "critical"\nBackups: nightly, 02:00\nTicket CHG-1234, CHG-1250'),
        vm(3, "café-büro-😀", "esx-e2.corp.example", "DC-East", "east-prod", "east-nfs", ip="",
           networks=("web-pg",), power="poweredOff"),
        vm(4, "app-07", "esx-e2.corp.example", "DC-East", "east-prod", "east-nfs", ip="10.2.0.40",
           networks=("app-pg",), power="suspended"),
        vm(5, "tmpl-rhel9", "esx-w2.corp.example", "DC-West", "west-prod", "west-vsan", template=True,
           power="poweredOff"),
    ]  # fmt: skip
    return RVToolsSample(hosts=hosts, datastores=datastores, vms=vms, mb_headers=mb_headers)


def edited(sample: RVToolsSample) -> RVToolsSample:
    return copy.deepcopy(sample)


def cell(tabs, tab: str, row: int, column: str, value) -> None:
    """Sets one cell (row 2 = the first data row, as in Excel)."""
    header = tabs[tab][0]
    tabs[tab][row - 1][header.index(column)] = value


def drop_column(tabs, tab: str, column: str) -> None:
    position = tabs[tab][0].index(column)
    for row in tabs[tab]:
        del row[position]
