"""Parsing and validating an RVTools export into plain records, before anything touches the database.

    export = parse_rvtools(read_export(path))      # raises RVToolsRefused with every problem found

Rules:
- Required tabs: vInfo, vHost, vDatastore. Optional: vCluster (clusters without VMs), vNetwork (port groups and
  IPv4 addresses per NIC), vNIC and vSC_VMK (the migration NIC's speed and MTU), vSource (the vCenter's identity).
- Columns are found by name (case and spacing ignored), never by position; where RVTools renamed a column the older
  name is accepted too (`Provisioned MB` for `Provisioned MiB`, `Capacity MB`, `Free MB`, `In Use MB`). Sizes in
  MiB/MB columns are binary (RVTools' MB always meant MiB).
- vInfo rows with `Template` = True are skipped and counted. A VM is identified by its `VM UUID`, which must be a UUID
  and unique in the file; names may repeat (two datacenters may each have a `web01`).
- Consistency: a VM's host must be in vHost and in the VM's datacenter, its datastore (the `[name]` prefix of `Path`)
  in vDatastore; a datastore's hosts must be in vHost; numbers must be numbers, power states RVTools' three.
- Every problem names its tab, row (the header is row 1) and column; all are collected, then the file is refused.
- The migration NIC of a host is its vmkernel port with vMotion among its `Services` when vSC_VMK has that column,
  else the one whose port group is named like vMotion, else vmk0; its MTU is that port's. Its speed is the fastest
  physical NIC of the host in vNIC (RVTools does not say which uplink carries which vmk).
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Callable

from hybridcloud.core.units import MIB
from inventory.importers.records import RVVM, Problem, RVDatastore, RVHost, RVToolsExport, RVToolsRefused, Tab, norm
from inventory.importers.sources import Sheet

REQUIRED_TABS = ("vInfo", "vHost", "vDatastore")
POWER_STATES = {"poweredon": "on", "poweredoff": "off", "suspended": "suspended"}
_DATASTORE_IN_PATH = re.compile(r"^\s*\[(?P<name>[^\]]+)\]")


def parse_rvtools(sheets: dict[str, Sheet], *, on_tab: Callable[[str, int], None] | None = None) -> RVToolsExport:
    """The export's records, validated whole; raises `RVToolsRefused` listing every problem (file order)."""
    problems: list[Problem] = []
    for tab in REQUIRED_TABS:
        if tab not in sheets:
            problems.append(Problem(tab, None, None, "required tab missing"))
        elif not sheets[tab].header:
            problems.append(Problem(tab, None, None, "the tab is empty (no header row)"))
    if problems:
        raise RVToolsRefused(problems)
    export = RVToolsExport()
    parse_source(sheets.get("vSource"), export)
    _parse_hosts(sheets["vHost"], export, problems)
    _report(on_tab, export, "vHost", sheets)
    if "vCluster" in sheets:
        _parse_clusters(sheets["vCluster"], export, problems)
        _report(on_tab, export, "vCluster", sheets)
    _parse_datastores(sheets["vDatastore"], export, problems)
    _report(on_tab, export, "vDatastore", sheets)
    if "vNIC" in sheets or "vSC_VMK" in sheets:
        _parse_migration_nics(sheets.get("vNIC"), sheets.get("vSC_VMK"), export, problems)
        for tab in ("vNIC", "vSC_VMK"):
            if tab in sheets:
                _report(on_tab, export, tab, sheets)
    _parse_vms(sheets["vInfo"], export, problems)
    _report(on_tab, export, "vInfo", sheets)
    if "vNetwork" in sheets:
        _parse_vnetwork(sheets["vNetwork"], export, problems)
        _report(on_tab, export, "vNetwork", sheets)
    if problems:
        raise RVToolsRefused(problems)
    return export


def _report(on_tab, export: RVToolsExport, tab: str, sheets: dict[str, Sheet]) -> None:
    export.tab_rows[tab] = len(sheets[tab].rows)
    if on_tab is not None:
        on_tab(tab, len(sheets[tab].rows))


def parse_source(sheet: Sheet | None, export: RVToolsExport) -> None:
    """The vCenter's name and instance UUID, from vSource."""
    if sheet is None or not sheet.rows:
        return
    tab = Tab(sheet, [])
    values = sheet.rows[0][1]
    export.vcenter = tab.text(values, tab.column("Name", "VI SDK Server", required=False))
    export.vcenter_uuid = tab.text(values, tab.column("VI SDK UUID", "Instance UUID", required=False))


def _parse_hosts(sheet: Sheet, export: RVToolsExport, problems: list[Problem]) -> None:
    tab = Tab(sheet, problems)
    c_host, c_dc, c_cluster = tab.column("Host"), tab.column("Datacenter"), tab.column("Cluster")
    c_cores, c_memory = tab.column("# Cores"), tab.column("# Memory")
    c_model, c_speed = tab.column("CPU Model"), tab.column("Speed", required=False)
    c_maint, c_esx = tab.column("in Maintenance Mode"), tab.column("ESX Version")
    c_evc = tab.column("Current EVC", required=False)
    if None in (c_host, c_dc, c_cores, c_memory):
        return
    for row, values in sheet.rows:
        name = tab.text(values, c_host)
        if not name:
            problems.append(Problem("vHost", row, c_host[0], "the host has no name"))
            continue
        if name in export.hosts:
            problems.append(
                Problem("vHost", row, c_host[0], f"host {name} is listed twice (also row {export.hosts[name].row})")
            )
            continue
        cores = tab.number(row, values, c_cores, minimum=1)
        memory = tab.number(row, values, c_memory, minimum=1)
        model = tab.text(values, c_model)
        speed = tab.number(row, values, c_speed, minimum=1) if tab.text(values, c_speed) else None
        ghz = speed / 1000 if speed else _ghz_from_model(model)
        datacenter = tab.text(values, c_dc)
        if not datacenter:
            problems.append(Problem("vHost", row, c_dc[0], f"host {name} has no datacenter"))
        cluster = tab.text(values, c_cluster) or f"{name} (standalone)"
        if cores is None or memory is None or not datacenter:
            continue
        export.hosts[name] = RVHost(
            name=name, datacenter=datacenter, cluster=cluster, cores=int(cores), memory_bytes=int(memory * MIB),
            cpu_model=model[:128], ghz=round(ghz, 3), maintenance=tab.boolean(row, values, c_maint),
            esx_version=tab.text(values, c_esx)[:128], evc_mode=tab.text(values, c_evc)[:64], row=row,
        )  # fmt: skip
        export.clusters.add((datacenter, cluster))


def _ghz_from_model(model: str) -> float:
    match = re.search(r"@\s*([\d.]+)\s*GHz", model or "", re.IGNORECASE)
    return float(match.group(1)) if match else 2.0


def _parse_clusters(sheet: Sheet, export: RVToolsExport, problems: list[Problem]) -> None:
    tab = Tab(sheet, problems)
    c_name = tab.column("Name")
    c_dc = tab.column("Datacenter", required=False)
    if c_name is None:
        return
    known = {cluster: dc for dc, cluster in export.clusters}
    for _row, values in sheet.rows:
        name = tab.text(values, c_name)
        datacenter = tab.text(values, c_dc) or known.get(name, "")
        if name and datacenter:  # a cluster without hosts and without a datacenter has no site to go to
            export.clusters.add((datacenter, name))


def _parse_datastores(sheet: Sheet, export: RVToolsExport, problems: list[Problem]) -> None:
    tab = Tab(sheet, problems)
    c_name = tab.column("Name")
    c_capacity = tab.column("Capacity MiB", "Capacity MB")
    c_free = tab.column("Free MiB", "Free MB")
    c_hosts = tab.column("Hosts")
    c_dc = tab.column("Datacenter", required=False)
    c_type = tab.column("Type", required=False)
    if None in (c_name, c_capacity, c_free, c_hosts):
        return
    for row, values in sheet.rows:
        name = tab.text(values, c_name)
        capacity = tab.number(row, values, c_capacity)
        free = tab.number(row, values, c_free)
        hosts = tuple(h.strip() for h in tab.text(values, c_hosts).split(",") if h.strip())
        if not name:
            problems.append(Problem("vDatastore", row, c_name[0], "the datastore has no name"))
            continue
        if name in export.datastores:
            problems.append(Problem("vDatastore", row, c_name[0], f"datastore {name} is listed twice"))
            continue
        unknown = [h for h in hosts if h not in export.hosts]
        if unknown:
            problems.append(
                Problem("vDatastore", row, c_hosts[0], f"host {unknown[0]} is not in vHost (datastore {name})")
            )
            continue
        datacenters = sorted({export.hosts[h].datacenter for h in hosts} | ({tab.text(values, c_dc)} - {""}))
        if len(datacenters) > 1:
            problems.append(
                Problem("vDatastore", row, c_hosts[0], f"datastore {name} spans datacenters {', '.join(datacenters)}")
            )
            continue
        if capacity is None or free is None:
            continue
        if free > capacity:
            problems.append(Problem("vDatastore", row, c_free[0], f"{free:g} MiB free is more than the capacity"))
            continue
        if not datacenters:
            continue  # seen by no host the file lists: it has no site; VMs on it are refused below
        export.datastores[name] = RVDatastore(
            name=name[:100], datacenter=datacenters[0], capacity_bytes=int(capacity * MIB), free_bytes=int(free * MIB),
            hosts=hosts, local=len(hosts) == 1 and tab.text(values, c_type).upper() == "VMFS", row=row,
        )  # fmt: skip


def _parse_migration_nics(nic: Sheet | None, vmk: Sheet | None, export: RVToolsExport, problems: list[Problem]):
    if nic is not None:
        tab = Tab(nic, problems)
        c_host, c_speed = tab.column("Host"), tab.column("Speed")
        if c_host and c_speed:
            for row, values in nic.rows:
                host = export.hosts.get(tab.text(values, c_host))
                if host is None or not tab.text(values, c_speed):
                    continue  # a NIC of a host the file does not list, or one without link
                speed = tab.number(row, values, c_speed)
                if speed:
                    gbps = max(1, round(speed / 1000))
                    host.migration_nic_gbps = max(host.migration_nic_gbps or 0, gbps)
    if vmk is not None:
        tab = Tab(vmk, problems)
        c_host, c_pg, c_mtu = tab.column("Host"), tab.column("Port Group"), tab.column("MTU", required=False)
        c_device = tab.column("Device", required=False)
        c_services = tab.column("Services", "Enabled Services", required=False)
        if not (c_host and c_pg):
            return
        best: dict[str, tuple[int, int, list]] = {}  # host -> (rank, row, values)
        for row, values in vmk.rows:
            name = tab.text(values, c_host)
            if name not in export.hosts:
                continue
            if c_services is not None:
                rank = 0 if "vmotion" in tab.text(values, c_services).lower() else 9
            elif "vmotion" in tab.text(values, c_pg).lower().replace(" ", "").replace("-", ""):
                rank = 1
            else:
                rank = 2 if tab.text(values, c_device) == "vmk0" else 9
            if rank < 9 and (name not in best or rank < best[name][0]):
                best[name] = (rank, row, values)
        for name, (_rank, row, values) in best.items():
            if tab.text(values, c_mtu):
                mtu = tab.number(row, values, c_mtu, minimum=576)
                if mtu is not None and mtu > 9216:
                    problems.append(Problem("vSC_VMK", row, c_mtu[0], f"an MTU of {mtu:g} bytes is not a real port"))
                elif mtu is not None:
                    export.hosts[name].migration_mtu = int(mtu)


def _parse_uuid(text: str) -> str | None:
    try:
        return str(uuid.UUID(text.replace(" ", "").replace("-", "")))
    except ValueError:
        return None


def _parse_ip(text: str) -> str | None:
    for candidate in re.split(r"[,;\s]+", text):
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return None


def _vm_columns(tab: Tab, sheet: Sheet) -> tuple[dict, list] | None:
    """vInfo's columns (None when a required one is missing) and its `Network #n` columns, in order."""
    c = {
        "vm": tab.column("VM"),
        "power": tab.column("Powerstate"),
        "template": tab.column("Template"),
        "cpus": tab.column("CPUs"),
        "memory": tab.column("Memory"),
        "provisioned": tab.column("Provisioned MiB", "Provisioned MB"),
        "in_use": tab.column("In Use MiB", "In Use MB"),
        "ip": tab.column("Primary IP Address"),
        "host": tab.column("Host"),
        "cluster": tab.column("Cluster"),
        "datacenter": tab.column("Datacenter"),
        "uuid": tab.column("VM UUID"),
        "path": tab.column("Path"),
        "annotation": tab.column("Annotation", required=False),
        "os_config": tab.column("OS according to the configuration file", required=False),
        "os_tools": tab.column("OS according to the VMware Tools", required=False),
        "sdk": tab.column("VI SDK Server", required=False),
        "sdk_uuid": tab.column("VI SDK UUID", required=False),
    }
    if c["os_config"] is None and c["os_tools"] is None:
        tab.column("OS according to the configuration file", "OS according to the VMware Tools")
    network_cols = []
    for i, header in enumerate(sheet.header):
        match = re.fullmatch(r"network #(\d+)", norm(header))
        if match:
            network_cols.append((int(match.group(1)), (header, i)))
    required = [k for k in c if k not in ("annotation", "os_config", "os_tools", "sdk", "sdk_uuid")]
    if any(c[k] is None for k in required):
        return None
    return c, [col for _n, col in sorted(network_cols)]


def _vm_identity(tab: Tab, row: int, values: list, c: dict, seen: dict[str, int]) -> tuple[str, str | None, str | None]:
    """The VM's name, UUID (a UUID, once in the file) and power state, each None when wrong (a problem)."""
    problems = tab.problems
    name = tab.text(values, c["vm"])
    raw_uuid = tab.text(values, c["uuid"])
    vm_uuid = _parse_uuid(raw_uuid)
    if vm_uuid is None:
        problems.append(Problem("vInfo", row, c["uuid"][0], f"'{raw_uuid[:60]}' is not a UUID (VM {name})"))
    elif vm_uuid in seen:
        problems.append(
            Problem("vInfo", row, c["uuid"][0], f"VM UUID {vm_uuid} is used twice (also row {seen[vm_uuid]})")
        )
        vm_uuid = None
    else:
        seen[vm_uuid] = row
    if not name:
        problems.append(Problem("vInfo", row, c["vm"][0], "the VM has no name"))
    power_text = tab.text(values, c["power"])
    power = POWER_STATES.get(power_text.lower())
    if power is None:
        problems.append(
            Problem("vInfo", row, c["power"][0], f"'{power_text}' is not poweredOn, poweredOff or suspended")
        )
    return name, vm_uuid, power


def _vm_placement(tab: Tab, export: RVToolsExport, row: int, values: list, c: dict, name: str):
    """The VM's host (in vHost and in the VM's datacenter), datacenter and datastore (the `[name]` of its path, in
    vDatastore); a problem for each that is wrong."""
    problems = tab.problems
    host_name = tab.text(values, c["host"])
    datacenter = tab.text(values, c["datacenter"])
    host = export.hosts.get(host_name)
    if host is None:
        problems.append(Problem("vInfo", row, c["host"][0], f"host '{host_name}' is not in vHost (VM {name})"))
    elif host.datacenter != datacenter:
        problems.append(
            Problem(
                "vInfo", row, c["datacenter"][0],
                f"VM {name} is in datacenter '{datacenter}' but its host {host_name} is in '{host.datacenter}'",
            )
        )  # fmt: skip
    path = tab.text(values, c["path"])
    match = _DATASTORE_IN_PATH.match(path)
    datastore = match.group("name").strip() if match else ""
    if datastore not in export.datastores:
        what = f"datastore '{datastore}' is not in vDatastore" if datastore else f"'{path[:60]}' names no datastore"
        problems.append(Problem("vInfo", row, c["path"][0], f"{what} (VM {name})"))
    return host_name, host, datacenter, datastore


def _vm_record(tab: Tab, export: RVToolsExport, row: int, values: list, c: dict, network_cols: list, seen: dict):
    """One vInfo row as a VM record, or None when anything on it is wrong (the problems are recorded)."""
    name, vm_uuid, power = _vm_identity(tab, row, values, c, seen)
    vcpus = tab.number(row, values, c["cpus"], minimum=1)
    memory = tab.number(row, values, c["memory"], minimum=1)
    provisioned = tab.number(row, values, c["provisioned"])
    in_use = tab.number(row, values, c["in_use"])
    host_name, host, datacenter, datastore = _vm_placement(tab, export, row, values, c, name)
    ip_text = tab.text(values, c["ip"])
    ip = _parse_ip(ip_text) if ip_text else None
    if ip_text and ip is None and ip_text.lower() not in ("unknown", "n/a"):
        tab.problems.append(Problem("vInfo", row, c["ip"][0], f"'{ip_text[:60]}' is not an IP address (VM {name})"))
    networks = tuple(n for n in (tab.text(values, col) for col in network_cols) if n)
    guest_os = tab.text(values, c["os_tools"]) or tab.text(values, c["os_config"])
    if (
        None in (vm_uuid, power, vcpus, memory, provisioned, in_use, host)
        or not name
        or datastore not in export.datastores
    ):
        return None
    return RVVM(
        uuid=vm_uuid, name=name[:128], power_state=power, vcpus=int(vcpus), memory_bytes=int(memory * MIB),
        provisioned_bytes=int(provisioned * MIB), in_use_bytes=int(in_use * MIB), ip_address=ip,
        networks=networks, guest_os=guest_os[:100], host=host_name, cluster=host.cluster,
        datacenter=datacenter, datastore=datastore, annotation=tab.text(values, c["annotation"]), row=row,
    )  # fmt: skip


def _parse_vms(sheet: Sheet, export: RVToolsExport, problems: list[Problem]) -> None:
    """The VMs of vInfo (templates skipped and counted), and the addresses reported on each VM's first port group."""
    tab = Tab(sheet, problems)
    columns = _vm_columns(tab, sheet)
    if columns is None:
        return
    c, network_cols = columns
    seen: dict[str, int] = {}
    if sheet.rows and not export.vcenter:  # no vSource tab: the vCenter named on the VMs' rows
        export.vcenter = tab.text(sheet.rows[0][1], c["sdk"])
        export.vcenter_uuid = export.vcenter_uuid or tab.text(sheet.rows[0][1], c["sdk_uuid"])
    for row, values in sheet.rows:
        if tab.boolean(row, values, c["template"]):
            export.templates_skipped += 1
            continue
        vm = _vm_record(tab, export, row, values, c, network_cols, seen)
        if vm is None:
            continue
        export.vms.append(vm)
        for network in vm.networks or ("",):
            ips = export.networks.setdefault((vm.datacenter, network), [])
            if vm.ip_address and network == (vm.networks[0] if vm.networks else ""):
                ips.append(vm.ip_address)


def _parse_vnetwork(sheet: Sheet, export: RVToolsExport, problems: list[Problem]) -> None:
    """Port groups and IPv4 addresses per NIC: adds port groups vInfo's `Network #n` columns did not show."""
    tab = Tab(sheet, problems)
    c_vm, c_network = tab.column("VM"), tab.column("Network")
    c_uuid = tab.column("VM UUID", required=False)
    c_ipv4 = tab.column("IPv4 Address", required=False)
    if not (c_vm and c_network):
        return
    by_uuid = {vm.uuid: vm for vm in export.vms}
    by_name: dict[str, RVVM | None] = {}
    for vm in export.vms:
        by_name[vm.name] = None if vm.name in by_name else vm  # ambiguous names match nothing
    for _row, values in sheet.rows:
        vm = by_uuid.get(_parse_uuid(tab.text(values, c_uuid)) or "") if c_uuid else None
        vm = vm or by_name.get(tab.text(values, c_vm))
        network = tab.text(values, c_network)
        if vm is None or not network:
            continue
        ips = export.networks.setdefault((vm.datacenter, network), [])
        ip = _parse_ip(tab.text(values, c_ipv4)) if c_ipv4 else None
        if ip:
            ips.append(ip)
        if not vm.networks:
            vm.networks = (network,)
