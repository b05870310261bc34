"""Small, explicit builders for test data: a two-site hybrid cloud and workloads on it.

`topology()` gives California and Virginia (private), linked at 65 ms / 10 Gbit/s, plus a public
region linked at 200 ms; each site has one Intel cluster with two hosts and a shared datastore; a
segment stretched over California and Virginia and one local to each site.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from hybridcloud.core.units import GIB
from inventory.choices import CpuBaseline, HostState, PowerState, SiteKind, WorkloadKind
from inventory.models import CloudLink, Cluster, Datastore, Host, NetworkSegment, Site, Workload

_counter = itertools.count(1)


@dataclass
class Topology:
    ca: Site
    va: Site
    far: Site
    ca_link_va: CloudLink
    ca_link_far: CloudLink
    ca_cluster: Cluster
    va_cluster: Cluster
    far_cluster: Cluster
    ca_hosts: list[Host]
    va_hosts: list[Host]
    far_hosts: list[Host]
    ca_datastore: Datastore
    va_datastore: Datastore
    far_datastore: Datastore
    stretched: NetworkSegment
    ca_local: NetworkSegment
    va_local: NetworkSegment


def site(name: str, *, kind: str = SiteKind.PRIVATE, lat: float = 37.4, lon: float = -122.0, **extra) -> Site:
    defaults = {"provider": "On-premises" if kind == SiteKind.PRIVATE else "AWS", "location": name}
    defaults.update(extra)
    return Site.objects.create(name=name, kind=kind, latitude=lat, longitude=lon, **defaults)


def cluster(site: Site, name: str, baseline: str = CpuBaseline.INTEL_CASCADELAKE) -> Cluster:
    return Cluster.objects.create(site=site, name=name, cpu_vendor=baseline.split("-")[0], cpu_baseline=baseline)


def host(
    cluster: Cluster,
    name: str,
    *,
    cores: int = 32,
    memory_gib: int = 512,
    nic_gbps: int = 10,
    state=HostState.CONNECTED,
) -> Host:
    return Host.objects.create(
        cluster=cluster,
        name=name,
        cores=cores,
        ghz=2.6,
        memory_bytes=memory_gib * GIB,
        migration_nic_gbps=nic_gbps,
        state=state,
    )


def datastore(site: Site, name: str, hosts: list[Host], capacity_gib: int = 100_000) -> Datastore:
    ds = Datastore.objects.create(site=site, name=name, capacity_bytes=capacity_gib * GIB)
    ds.hosts.set(hosts)
    return ds


def segment(name: str, cidr: str, gateway: str, sites: list[Site], overlay_id: int | None = None) -> NetworkSegment:
    seg = NetworkSegment.objects.create(
        name=name, cidr=cidr, gateway=gateway, overlay_id=overlay_id or 5000 + next(_counter)
    )
    seg.sites.set(sites)
    return seg


def link(a: Site, b: Site, *, mbit: int = 10_000, rtt_ms: float = 65.0, compression: float = 1.0) -> CloudLink:
    return CloudLink.objects.create(
        site_a=a, site_b=b, bandwidth_mbit=mbit, rtt_ms=rtt_ms, compression_ratio=compression
    )


def topology() -> Topology:
    ca = site("California DC", lat=37.35, lon=-121.95, location="Santa Clara, California")
    va = site("Virginia DC", lat=39.04, lon=-77.49, location="Ashburn, Virginia")
    far = site("Sydney region", kind=SiteKind.PUBLIC, lat=-33.87, lon=151.21, region="ap-southeast-2")
    ca_cluster = cluster(ca, "ca-compute")
    va_cluster = cluster(va, "va-compute", CpuBaseline.INTEL_ICELAKE)
    far_cluster = cluster(far, "syd-compute", CpuBaseline.INTEL_ICELAKE)
    ca_hosts = [host(ca_cluster, f"ca-esx-{i:02d}") for i in (1, 2)]
    va_hosts = [host(va_cluster, f"va-esx-{i:02d}") for i in (1, 2)]
    far_hosts = [host(far_cluster, "syd-node-01")]
    return Topology(
        ca=ca, va=va, far=far,
        ca_link_va=link(ca, va, rtt_ms=65.0), ca_link_far=link(ca, far, rtt_ms=160.0, mbit=5_000),
        ca_cluster=ca_cluster, va_cluster=va_cluster, far_cluster=far_cluster,
        ca_hosts=ca_hosts, va_hosts=va_hosts, far_hosts=far_hosts,
        ca_datastore=datastore(ca, "ca-vsan", ca_hosts), va_datastore=datastore(va, "va-vsan", va_hosts),
        far_datastore=datastore(far, "syd-ebs", far_hosts),
        stretched=segment("web-stretched", "10.10.0.0/16", "10.10.0.1", [ca, va, far]),
        ca_local=segment("ca-db-local", "10.20.0.0/16", "10.20.0.1", [ca]),
        va_local=segment("va-db-local", "10.30.0.0/16", "10.30.0.1", [va]),
    )  # fmt: skip


def workload(
    host: Host, *, name: str | None = None, kind: str = WorkloadKind.VM, memory_gib: float = 4, vcpus: int = 2,
    segment: NetworkSegment | None = None, datastore: Datastore | None = None, ip: str | None = None,
    dirty_rate_bps: int = 20_000_000, power_state: str = PowerState.ON, disk_gib: int = 40, pk: int | None = None,
) -> Workload:  # fmt: skip
    n = next(_counter)
    segment = segment or host.cluster.site.segments.first()
    datastore = datastore or host.datastores.first()
    network = segment.network
    memory = int(memory_gib * GIB)
    return Workload.objects.create(
        pk=pk, name=name or f"wl-{n:05d}", kind=kind, vcpus=vcpus, memory_bytes=memory, disk_bytes=disk_gib * GIB,
        power_state=power_state, host=host, datastore=datastore, segment=segment,
        ip_address=ip or str(network.network_address + 10 + n), guest_os="Ubuntu 24.04",
        dirty_rate_bps=dirty_rate_bps, working_set_bytes=memory // 4,
    )  # fmt: skip
