"""Building RVTools-shaped exports: the demo's example file, the tests' files and the benchmark's 10,000 VMs.

The headers are RVTools 4.x's own (vInfo, vHost, vCluster, vDatastore, vNetwork, vNIC, vSC_VMK, vSource, in
RVTools' column order, abridged to the columns that matter plus a few it always has); `mb_headers=True` writes the
older 3.x names (`Provisioned MB`, `In Use MB`, `Capacity MB`, `Free MB`). A sample is data first:

    sample = RVToolsSample(hosts=[...], datastores=[...], vms=[...])
    tabs = sample.tabs()                  # {tab: [header, row, ...]}: edit freely to break a file on purpose
    tabs_to_xlsx(tabs) / tabs_to_csv_zip(tabs) / tabs_to_csv_dir(tabs, folder)
"""

from __future__ import annotations

import csv
import io
import random
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl

Tabs = dict[str, list[list]]


@dataclass
class SampleHost:
    name: str
    datacenter: str
    cluster: str
    cores: int = 32
    memory_mib: int = 512 * 1024
    cpu_model: str = "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz"
    speed_mhz: int = 2500
    maintenance: bool = False
    esx_version: str = "VMware ESXi 7.0.3 build-21930508"
    evc: str = "intel-cascadelake"
    nic_speed_mb: int = 10000
    vmotion_mtu: int = 9000


@dataclass
class SampleDatastore:
    name: str
    hosts: list[str]
    capacity_mib: int = 4 * 1024 * 1024
    free_mib: int = 2 * 1024 * 1024
    type: str = "VMFS"


@dataclass
class SampleVM:
    name: str
    host: str
    datastore: str
    datacenter: str
    cluster: str
    uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    power: str = "poweredOn"
    cpus: int = 2
    memory_mib: int = 4096
    provisioned_mib: int = 40 * 1024
    in_use_mib: int = 20 * 1024
    ip: str = ""
    networks: tuple[str, ...] = ("VM Network",)
    os_config: str = "Ubuntu Linux (64-bit)"
    os_tools: str = "Ubuntu 22.04.4 LTS"
    annotation: str = ""
    template: bool = False


@dataclass
class RVToolsSample:
    hosts: list[SampleHost]
    datastores: list[SampleDatastore]
    vms: list[SampleVM]
    vcenter: str = "vcenter01.corp.example"
    vcenter_uuid: str = "6f1c2a7e-3b9d-4c55-9a1e-2d7f0b8c4e11"
    mb_headers: bool = False

    def tabs(self) -> Tabs:
        """Every tab as rows of cells, header first."""
        mib = "MB" if self.mb_headers else "MiB"
        sdk = [self.vcenter, self.vcenter_uuid]
        vinfo, vnetwork = self._vm_tabs(mib, sdk)
        vhost, vnic, vmk = self._host_tabs(sdk)
        return {
            "vInfo": vinfo, "vNetwork": vnetwork, "vCluster": self._vcluster(sdk), "vHost": vhost, "vNIC": vnic,
            "vSC_VMK": vmk, "vDatastore": self._vdatastore(mib, sdk), "vSource": self._vsource(sdk),
        }  # fmt: skip

    def _vm_tabs(self, mib: str, sdk: list[str]) -> tuple[list[list], list[list]]:
        """vInfo (a row per VM) and vNetwork (a row per VM's NIC)."""
        vinfo_header = [
            "VM", "Powerstate", "Template", "SRM Placeholder", "Config status", "DNS Name", "Connection state",
            "Guest state", "Heartbeat", "CPUs", "Memory", "NICs", "Disks", "Primary IP Address",
            *[f"Network #{i}" for i in range(1, 5)], f"Provisioned {mib}", f"In Use {mib}", f"Unshared {mib}",
            "HW version", "Path", "Annotation", "Datacenter", "Cluster", "Host", "Folder",
            "OS according to the configuration file", "OS according to the VMware Tools", "VM ID", "VM UUID",
            "VI SDK Server", "VI SDK UUID",
        ]  # fmt: skip
        vinfo = [vinfo_header]
        vnetwork = [["VM", "Powerstate", "Template", "NIC label", "Adapter", "Network", "Switch", "Connected",
                     "Mac Address", "IPv4 Address", "IPv6 Address", "Datacenter", "Cluster", "Host", "VM ID",
                     "VM UUID", "VI SDK Server", "VI SDK UUID"]]  # fmt: skip
        for n, vm in enumerate(self.vms, start=1):
            nets = list(vm.networks[:4]) + [""] * (4 - len(vm.networks[:4]))
            vinfo.append([
                vm.name, vm.power, str(vm.template), "False", "green", vm.name.lower(), "connected",
                "running" if vm.power == "poweredOn" else "notRunning", "green", vm.cpus, vm.memory_mib,
                len(vm.networks), 1, vm.ip, *nets, vm.provisioned_mib, vm.in_use_mib, vm.in_use_mib, "vmx-19",
                f"[{vm.datastore}] {vm.name}/{vm.name}.vmx", vm.annotation, vm.datacenter, vm.cluster, vm.host,
                "Discovered virtual machine", vm.os_config, vm.os_tools, f"vm-{1000 + n}", vm.uuid, *sdk,
            ])  # fmt: skip
            for i, network in enumerate(vm.networks, start=1):
                vnetwork.append([
                    vm.name, vm.power, str(vm.template), f"Network adapter {i}", "Vmxnet3", network, "vds-prod",
                    "True", f"00:50:56:{n // 65536 % 256:02x}:{n // 256 % 256:02x}:{n % 256:02x}",
                    vm.ip if i == 1 else "", "", vm.datacenter, vm.cluster, vm.host, f"vm-{1000 + n}", vm.uuid, *sdk,
                ])  # fmt: skip
        return vinfo, vnetwork

    def _host_tabs(self, sdk: list[str]) -> tuple[list[list], list[list], list[list]]:
        """vHost, vNIC (two uplinks per host) and vSC_VMK (management and vMotion vmkernel ports)."""
        vhost = [["Host", "Datacenter", "Cluster", "Config status", "in Maintenance Mode", "in Quarantine Mode",
                  "CPU Model", "Speed", "HT Available", "# CPU", "Cores per CPU", "# Cores", "CPU usage %",
                  "# Memory", "Memory usage %", "# NICs", "# VMs", "Current EVC", "Max EVC", "ESX Version",
                  "Vendor", "Model", "Object ID", "VI SDK Server", "VI SDK UUID"]]  # fmt: skip
        vnic = [["Host", "Datacenter", "Cluster", "Network Device", "Driver", "Speed", "Duplex", "MAC", "Switch",
                 "VI SDK Server", "VI SDK UUID"]]  # fmt: skip
        vmk = [["Host", "Datacenter", "Cluster", "Port Group", "Device", "Mac Address", "DHCP", "IP Address",
                "IP 6 Address", "Subnet mask", "Gateway", "IP 6 Gateway", "MTU", "VI SDK Server",
                "VI SDK UUID"]]  # fmt: skip
        for n, h in enumerate(self.hosts, start=1):
            vms_on = sum(1 for vm in self.vms if vm.host == h.name)
            vhost.append([
                h.name, h.datacenter, h.cluster, "green", str(h.maintenance), "False", h.cpu_model, h.speed_mhz,
                "True", 2, h.cores // 2, h.cores, 20, h.memory_mib, 40, 4, vms_on, h.evc, h.evc, h.esx_version,
                "Dell Inc.", "PowerEdge R650", f"host-{100 + n}", *sdk,
            ])  # fmt: skip
            for device, speed in (("vmnic0", 1000), ("vmnic1", h.nic_speed_mb)):
                vnic.append([h.name, h.datacenter, h.cluster, device, "ixgben", speed, "True",
                             f"3c:fd:fe:00:{n:02x}:{device[-1]}0", "vds-prod", *sdk])  # fmt: skip
            for device, group, mtu in (("vmk0", "Management Network", 1500), ("vmk1", "vMotion", h.vmotion_mtu)):
                vmk.append([h.name, h.datacenter, h.cluster, group, device, f"00:50:56:6{device[-1]}:00:{n:02x}",
                            "False", f"172.16.{n // 250}.{n % 250 + 1}", "", "255.255.255.0", "172.16.0.254", "",
                            mtu, *sdk])  # fmt: skip
        return vhost, vnic, vmk

    def _vcluster(self, sdk: list[str]) -> list[list]:
        clusters = sorted({(h.datacenter, h.cluster) for h in self.hosts})
        vcluster = [["Name", "Config status", "OverallStatus", "NumHosts", "numEffectiveHosts", "TotalCpu",
                     "NumCpuCores", "TotalMemory", "HA enabled", "DRS enabled", "Object ID", "VI SDK Server",
                     "VI SDK UUID"]]  # fmt: skip
        for n, (_dc, name) in enumerate(clusters, start=1):
            members = [h for h in self.hosts if h.cluster == name]
            vcluster.append([name, "green", "green", len(members), len(members),
                             sum(h.cores * h.speed_mhz for h in members), sum(h.cores for h in members),
                             sum(h.memory_mib for h in members), "True", "True", f"domain-c{n}", *sdk])  # fmt: skip
        return vcluster

    def _vdatastore(self, mib: str, sdk: list[str]) -> list[list]:
        vdatastore = [["Name", "Config status", "Address", "Accessible", "Type", "# VMs total", "# VMs",
                       f"Capacity {mib}", f"Provisioned {mib}", f"In Use {mib}", f"Free {mib}", "Free %",
                       "# Hosts", "Hosts", "Cluster name", "Object ID", "VI SDK Server", "VI SDK UUID"]]  # fmt: skip
        for n, d in enumerate(self.datastores, start=1):
            on_it = [vm for vm in self.vms if vm.datastore == d.name]
            vdatastore.append([
                d.name, "green", f"naa.6000{n:012d}", "True", d.type, len(on_it), len(on_it), d.capacity_mib,
                d.capacity_mib - d.free_mib + sum(vm.provisioned_mib - vm.in_use_mib for vm in on_it),
                d.capacity_mib - d.free_mib, d.free_mib, round(100 * d.free_mib / d.capacity_mib), len(d.hosts),
                ", ".join(d.hosts), "", f"datastore-{n}", *sdk,
            ])  # fmt: skip
        return vdatastore

    def _vsource(self, sdk: list[str]) -> list[list]:
        return [["Name", "OS type", "API type", "API version", "Version", "Patch level", "Build", "Fullname",
                    "Product name", "Product version", "Product line", "Vendor", "VI SDK Server", "VI SDK UUID"],
                   [self.vcenter, "linux-x64", "VirtualCenter", "8.0.2.0", "8.0.2", "", "22385739",
                    f"VMware vCenter Server 8.0.2 build-22385739 ({self.vcenter})", "VMware VirtualCenter Server",
                    "8.0.2", "vpx", "VMware, Inc.", *sdk]]  # fmt: skip


def tabs_to_xlsx(tabs: Tabs) -> bytes:
    """An .xlsx with one sheet per tab (a write-only workbook: fast for 10,000 rows)."""
    workbook = openpyxl.Workbook(write_only=True)
    for tab, rows in tabs.items():
        sheet = workbook.create_sheet(title=tab)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _csv_bytes(rows: list[list], encoding: str = "utf-8") -> bytes:
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return text.getvalue().encode(encoding)


def tabs_to_csv_zip(tabs: Tabs, *, prefix: str = "RVTools_tab") -> bytes:
    """A zip of RVTools' CSV export: one `RVTools_tab<Tab>.csv` per tab."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for tab, rows in tabs.items():
            archive.writestr(f"{prefix}{tab}.csv", _csv_bytes(rows))
    return out.getvalue()


def tabs_to_csv_dir(tabs: Tabs, folder: Path) -> Path:
    """RVTools' CSV export into a folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for tab, rows in tabs.items():
        (folder / f"RVTools_tab{tab}.csv").write_bytes(_csv_bytes(rows))
    return folder


def demo_sample() -> RVToolsSample:
    """The demo's example: a vCenter with the two private datacenters of `seed_demo` (same names, so they map to its
    sites), 36 VMs on the demo's stretched port groups (addresses high in their ranges, clear of the seeded ones),
    a template, a VM name used in both datacenters, an annotation over several lines with commas, a unicode name
    and a VM without an IP. Deterministic."""
    rng = random.Random(15)
    hosts, datastores, vms = [], [], []
    layout = [
        ("California DC", "ca-vsphere-prod", "ca-vc-esx", "ca-vc-vsan", "Intel(R) Xeon(R) Gold 6348 CPU @ 2.60GHz",
         "intel-icelake", 2600),
        ("Virginia DC", "va-vsphere-prod", "va-vc-esx", "va-vc-vsan", "Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz",
         "intel-cascadelake", 2500),
    ]  # fmt: skip
    roles = [
        ("web", "web-stretched", 10, "Ubuntu Linux (64-bit)", "Ubuntu 22.04.4 LTS", (2, 4096)),
        ("app", "app-stretched", 11, "Red Hat Enterprise Linux 9 (64-bit)", "Red Hat Enterprise Linux 9.3", (4, 8192)),
        ("sql", "db-stretched", 12, "Microsoft Windows Server 2022 (64-bit)", "Microsoft Windows Server 2022",
         (8, 32768)),
        ("pg", "db-stretched", 12, "Red Hat Enterprise Linux 9 (64-bit)", "Red Hat Enterprise Linux 9.3", (8, 65536)),
        ("redis", "app-stretched", 11, "Debian GNU/Linux 12 (64-bit)", "Debian GNU/Linux 12", (4, 16384)),
        ("file", "db-stretched", 12, "Microsoft Windows Server 2019 (64-bit)", "Microsoft Windows Server 2019",
         (2, 8192)),
    ]  # fmt: skip
    for d, (dc, cluster, prefix, vsan, cpu, evc, mhz) in enumerate(layout):
        names = [f"{prefix}-{i:02d}.corp.example" for i in range(1, 4)]
        for i, name in enumerate(names):
            hosts.append(SampleHost(name=name, datacenter=dc, cluster=cluster, cores=48, memory_mib=768 * 1024,
                                    cpu_model=cpu, speed_mhz=mhz, evc=evc, maintenance=(d == 1 and i == 2),
                                    nic_speed_mb=25000 if d == 0 else 10000))  # fmt: skip
        datastores.append(SampleDatastore(name=vsan, hosts=names, capacity_mib=40 * 1024 * 1024,
                                          free_mib=22 * 1024 * 1024, type="vsan"))  # fmt: skip
        for n in range(18):
            role, network, octet, os_config, os_tools, (cpus, memory) = roles[n % len(roles)]
            vms.append(SampleVM(
                name=f"{'sc' if d == 0 else 'ash'}-{role}-{n // len(roles) + 1:02d}", host=names[n % 2],
                datastore=vsan, datacenter=dc, cluster=cluster, uuid=str(uuid.UUID(int=rng.getrandbits(128))),
                cpus=cpus, memory_mib=memory, provisioned_mib=rng.choice([40, 80, 200]) * 1024,
                in_use_mib=rng.randint(10, 35) * 1024, ip=f"10.{octet}.{200 + d}.{10 + n}", networks=(network,),
                os_config=os_config, os_tools=os_tools, power="poweredOn" if n % 9 else "poweredOff",
            ))  # fmt: skip
    # The cases an importer must get right, in a file people will look at.
    vms[0].annotation = "Customer portal, front end.\nOwner: web team, on call: +1 555 0100\nPatched 2026-11-02"
    vms[1].name = "café-app-01"
    vms[2].ip = ""
    vms[18 + 4].name = vms[4].name = "redis-shared"
    vms.append(SampleVM(name="tmpl-ubuntu-22.04", host=hosts[0].name, datastore=datastores[0].name,
                        datacenter="California DC", cluster="ca-vsphere-prod", template=True, power="poweredOff",
                        uuid=str(uuid.UUID(int=rng.getrandbits(128)))))  # fmt: skip
    return RVToolsSample(hosts=hosts, datastores=datastores, vms=vms, vcenter="vcenter.demo.example",
                         vcenter_uuid="1d6e0c2b-7a55-4e1f-9c3a-5b8e2f4d6a70")  # fmt: skip


def synthetic_sample(*, vms: int, datacenters: int = 2, seed: int = 1) -> RVToolsSample:
    """A large estate for benchmarks: `vms` VMs over `datacenters` datacenters, 40 VMs per host."""
    rng = random.Random(seed)
    host_count = max(2, vms // 40)
    hosts, datastores, out = [], [], []
    for d in range(datacenters):
        dc = f"DC{d + 1}"
        names = [f"esx-{d + 1}-{i:04d}.bench.example" for i in range(host_count // datacenters)]
        hosts += [SampleHost(name=n, datacenter=dc, cluster=f"cl-{d + 1}-{i // 16:02d}", cores=64,
                             memory_mib=1536 * 1024) for i, n in enumerate(names)]  # fmt: skip
        for start in range(0, len(names), 16):
            datastores.append(SampleDatastore(name=f"ds-{d + 1}-{start // 16:02d}", hosts=names[start : start + 16],
                                              capacity_mib=200 * 1024 * 1024, free_mib=100 * 1024 * 1024))  # fmt: skip
    by_dc = {}
    for h in hosts:
        by_dc.setdefault(h.datacenter, []).append(h)
    datastore_of = {h: d.name for d in datastores for h in d.hosts}
    for n in range(vms):
        host = by_dc[f"DC{n % datacenters + 1}"][(n // datacenters) % (host_count // datacenters)]
        out.append(SampleVM(
            name=f"vm-{n:05d}", host=host.name, datastore=datastore_of[host.name], datacenter=host.datacenter,
            cluster=host.cluster, uuid=str(uuid.UUID(int=rng.getrandbits(128))), cpus=rng.choice([1, 2, 4, 8]),
            memory_mib=rng.choice([2048, 4096, 8192, 16384]), ip=f"10.{n % datacenters}.{n // 250 % 250}.{n % 250 + 1}",
            networks=(f"pg-{n % 8}",), annotation="bench VM" if n % 7 else "",
        ))  # fmt: skip
    return RVToolsSample(hosts=hosts, datastores=datastores, vms=out, vcenter="vcenter.bench.example",
                         vcenter_uuid="0b1f3e55-2c9a-4d7e-8f60-1a2b3c4d5e6f")  # fmt: skip
