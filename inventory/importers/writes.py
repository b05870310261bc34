"""The writes of an RVTools import (`inventory.importers.apply` has the rules): one step per kind, in bulk, each
reading and extending the import's shared state (`ImportRun`); only rows whose values differ are written."""

from __future__ import annotations

import ipaddress
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import models
from django.db.models import Max, Q

from inventory.assumptions import workload_dirty_assumption
from inventory.choices import BASELINE_LEVELS, CpuBaseline, CpuVendor, DatastoreKind, HostState, PowerState
from inventory.importers.records import Problem, RVToolsExport
from inventory.models import Cluster, Datastore, Estate, Host, NetworkSegment, Site, Workload

BATCH = 1000
KINDS = ("sites", "clusters", "hosts", "datastores", "segments", "workloads")
UNKNOWN_RANGE = "192.0.2.0/24"  # TEST-NET-1: a port group on which no VM reported an address
WORKLOAD_FIELDS = ["name", "vcpus", "memory_bytes", "disk_bytes", "disk_used_bytes", "power_state", "host", "datastore",
                   "segment", "ip_address", "guest_os", "annotation", "working_set_bytes", "updated_at"]  # fmt: skip
ProgressFn = Callable[[float, str], None]


@dataclass
class Tally:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    kept: list[str] = field(default_factory=list)  # would be removed, still used


@dataclass
class ImportRun:
    """One import's shared state: the export, the estate, what each step found (`*_of`: the export's names to
    the rows they became; `own_*`: the estate's rows not yet matched, which are removed at the end), the tallies,
    the warnings and the problems that refuse it."""

    export: RVToolsExport
    estate: Estate
    new_estate: bool
    progress: ProgressFn
    now: datetime
    tallies: dict[str, Tally] = field(default_factory=lambda: {kind: Tally() for kind in KINDS})
    warnings: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    sites_by_name: dict[str, Site] = field(default_factory=dict)
    site_of: dict[str, Site | None] = field(default_factory=dict)
    existing_workloads: dict[str, Workload] = field(default_factory=dict)
    doomed: list[Workload] = field(default_factory=list)
    cluster_of: dict[tuple[str, str], Cluster] = field(default_factory=dict)
    host_of: dict[str, Host] = field(default_factory=dict)
    datastore_of: dict[str, Datastore] = field(default_factory=dict)
    segment_of: dict[tuple[str, str], NetworkSegment] = field(default_factory=dict)
    own_clusters: dict = field(default_factory=dict)
    own_hosts: dict = field(default_factory=dict)
    own_datastores: dict = field(default_factory=dict)
    own_segments: dict = field(default_factory=dict)
    joined: set[str] = field(default_factory=set)
    assumed: Counter[str] = field(default_factory=Counter)
    memory_on: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def own(self) -> Q:
        """Rows of this estate (none while it is new)."""
        return Q(estate=self.estate) if self.estate.pk else Q(pk__in=[])


def assign_changed(obj: models.Model, values: dict[str, Any]) -> bool:
    """Sets `values` on obj; True when any differed."""
    differs = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            differs = True
    return differs


def _count(tally: Tally, *, new: bool, differs: bool) -> None:
    if new:
        tally.added += 1
    elif differs:
        tally.updated += 1
    else:
        tally.unchanged += 1


def _vendor_and_baseline(models_and_evc: list[tuple[str, str]]) -> tuple[str, str]:
    """The cluster's CPU vendor and the oldest baseline among its hosts (what vMotion lets guests see)."""
    levels = []
    vendor = CpuVendor.INTEL
    for model, evc in models_and_evc:
        vendor = CpuVendor.AMD if "amd" in (model or "").lower() or (evc or "").startswith("amd") else CpuVendor.INTEL
        levels.append(_baseline_of(model, evc, vendor))
    baseline = min(levels, key=lambda b: BASELINE_LEVELS[b]) if levels else CpuBaseline.INTEL_SKYLAKE
    if not baseline.startswith(vendor + "-"):
        baseline = CpuBaseline.AMD_ZEN2 if vendor == CpuVendor.AMD else CpuBaseline.INTEL_SKYLAKE
    return vendor, baseline


def _baseline_of(model: str, evc: str, vendor: str) -> str:
    """An EVC mode key we know (intel-icelake...) as it is; otherwise read from the CPU model's generation
    (Xeon Scalable x1xx Skylake ... x4xx Sapphire Rapids; EPYC 7xx2 Zen 2 ... 9xx4 Zen 4); else the oldest."""
    if evc in CpuBaseline.values:
        return evc
    model = model or ""
    if vendor == CpuVendor.AMD:
        match = re.search(r"EPYC\s+\d{3}(\d)", model)
        return {"2": CpuBaseline.AMD_ZEN2, "3": CpuBaseline.AMD_ZEN3, "4": CpuBaseline.AMD_ZEN4}.get(
            match.group(1) if match else "", CpuBaseline.AMD_ZEN2
        )
    match = re.search(r"(?:Platinum|Gold|Silver|Bronze)\s+\d(\d)\d\d", model)
    return {
        "1": CpuBaseline.INTEL_SKYLAKE,
        "2": CpuBaseline.INTEL_CASCADELAKE,
        "3": CpuBaseline.INTEL_ICELAKE,
        "4": CpuBaseline.INTEL_SAPPHIRERAPIDS,
    }.get(match.group(1) if match else "", CpuBaseline.INTEL_SKYLAKE)


def _network_for(ips: list[str]) -> str:
    """The smallest network (at least a /24, a /64 for IPv6) holding every address reported on a port group."""
    v4 = [ipaddress.ip_address(ip) for ip in ips if ":" not in ip]
    v6 = [ipaddress.ip_address(ip) for ip in ips if ":" in ip]
    addresses, floor = (v4, 24) if v4 else (v6, 64)
    if not addresses:
        return UNKNOWN_RANGE
    low, high = min(addresses), max(addresses)
    prefix = floor
    while prefix > 0:
        network = ipaddress.ip_network(f"{low}/{prefix}", strict=False)
        if high in network:
            return str(network)
        prefix -= 1
    return str(ipaddress.ip_network(f"{low}/0", strict=False))


def _save_all(model, new: list, changed: list, fields: list[str], *, estate: Estate, key: Callable) -> None:
    """Creates `new` and updates `changed` in batches; new objects get their ids (read back among the estate's by
    `key` where the database cannot return them from a bulk insert)."""
    model.objects.bulk_create(new, batch_size=BATCH)
    if changed:
        model.objects.bulk_update(changed, fields, batch_size=BATCH)
    if any(obj.pk is None for obj in new):
        found = {key(obj): obj.pk for obj in model.objects.filter(estate=estate)}
        for obj in new:
            obj.pk = obj.pk or found[key(obj)]


def _set_links(through, owner_field: str, other_field: str, wanted: dict[int, set[int]]) -> None:
    """Sets many-to-many links of many owners at once: each owner in `wanted` ends with exactly those others."""
    if not wanted:
        return
    through.objects.filter(**{f"{owner_field}__in": list(wanted)}).delete()
    through.objects.bulk_create(
        [through(**{owner_field: owner, other_field: other}) for owner, others in wanted.items() for other in others],
        batch_size=BATCH,
    )


def _moved_or_own(own: dict, site_id: int, name: str):
    """The estate's row of that name on that site, or (a datacenter moved to another site: its rows move with it)
    of that name on another site; taken out of `own`."""
    found = own.pop((site_id, name), None)
    if found is None:
        found = next((row for (_s, n), row in own.items() if n == name), None)
        if found is not None:
            own.pop((found.site_id, found.name))
    return found


# -- clusters and hosts ---------------------------------------------------------------------------------------------


def write_clusters(run: ImportRun) -> None:
    """Each cluster on its datacenter's site, with its hosts' CPU vendor and oldest baseline."""
    cpu_by_cluster: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for host in run.export.hosts.values():
        cpu_by_cluster[(host.datacenter, host.cluster)].append((host.cpu_model, host.evc_mode))
    run.own_clusters = {(c.site_id, c.name): c for c in Cluster.objects.filter(estate=run.estate)}
    new, changed = [], []
    for dc, name in sorted(run.export.clusters):
        vendor, baseline = _vendor_and_baseline(cpu_by_cluster.get((dc, name), []))
        site = run.site_of[dc]
        cluster = _moved_or_own(run.own_clusters, site.pk, name[:100])
        values = {"site_id": site.pk, "name": name[:100], "cpu_vendor": vendor, "cpu_baseline": baseline}
        differs = cluster is not None and assign_changed(cluster, values)
        _count(run.tallies["clusters"], new=cluster is None, differs=differs)
        if cluster is None:
            cluster = Cluster(estate=run.estate, **values)
            new.append(cluster)
        elif differs:
            changed.append(cluster)
        run.cluster_of[(dc, name)] = cluster
    _save_all(Cluster, new, changed, ["site", "name", "cpu_vendor", "cpu_baseline"], estate=run.estate,
              key=lambda c: (c.site_id, c.name))  # fmt: skip


def _host_values(run: ImportRun, rv, host: Host | None) -> dict[str, Any]:
    values = {
        "cluster_id": run.cluster_of[(rv.datacenter, rv.cluster)].pk, "cores": rv.cores, "ghz": rv.ghz,
        "memory_bytes": rv.memory_bytes, "cpu_model": rv.cpu_model, "esx_version": rv.esx_version,
        "evc_mode": rv.evc_mode,
    }  # fmt: skip
    if rv.maintenance:
        values["state"] = HostState.MAINTENANCE
    elif host is None or host.state == HostState.MAINTENANCE:
        values["state"] = HostState.CONNECTED
    if rv.migration_nic_gbps:
        values["migration_nic_gbps"] = rv.migration_nic_gbps
    if rv.migration_mtu:
        values["migration_mtu_bytes"] = rv.migration_mtu
    return values


def write_hosts(run: ImportRun) -> None:
    """Each host in its cluster (maintenance as the export says; a host out of it is connected again)."""
    run.own_hosts = {h.name: h for h in Host.objects.filter(estate=run.estate)}
    new, changed = [], []
    for name, rv in run.export.hosts.items():
        host = run.own_hosts.pop(name, None)
        values = _host_values(run, rv, host)
        differs = host is not None and assign_changed(host, values)
        _count(run.tallies["hosts"], new=host is None, differs=differs)
        if host is None:
            host = Host(name=name[:100], estate=run.estate, **values)
            new.append(host)
        elif differs:
            changed.append(host)
        run.host_of[name] = host
    fields = ["cluster", "cores", "ghz", "memory_bytes", "state", "cpu_model", "esx_version", "evc_mode",
              "migration_nic_gbps", "migration_mtu_bytes"]  # fmt: skip
    _save_all(Host, new, changed, fields, estate=run.estate, key=lambda h: h.name)


# -- storage and networks -------------------------------------------------------------------------------------------


def write_datastores(run: ImportRun) -> None:
    """Each datastore on its datacenter's site, with exactly the hosts that see it."""
    own = Datastore.objects.filter(estate=run.estate).prefetch_related("hosts")
    run.own_datastores = {(d.site_id, d.name): d for d in own}
    new, changed, links = [], [], []
    for name, rv in run.export.datastores.items():
        site = run.site_of[rv.datacenter]
        datastore = _moved_or_own(run.own_datastores, site.pk, rv.name)
        values = {
            "site_id": site.pk, "kind": DatastoreKind.LOCAL if rv.local else DatastoreKind.SHARED,
            "capacity_bytes": rv.capacity_bytes, "used_bytes": rv.capacity_bytes - rv.free_bytes,
        }  # fmt: skip
        wanted_hosts = {run.host_of[h].pk for h in rv.hosts}
        is_new, differs = datastore is None, False
        if is_new:
            datastore = Datastore(estate=run.estate, name=rv.name, **values)
            new.append(datastore)
            links.append((datastore, wanted_hosts))
        else:
            if differs := assign_changed(datastore, values):
                changed.append(datastore)
            if {h.pk for h in datastore.hosts.all()} != wanted_hosts:
                links.append((datastore, wanted_hosts))
                differs = True
        _count(run.tallies["datastores"], new=is_new, differs=differs)
        run.datastore_of[name] = datastore
    _save_all(Datastore, new, changed, ["site", "kind", "capacity_bytes", "used_bytes"], estate=run.estate,
              key=lambda d: (d.site_id, d.name))  # fmt: skip
    _set_links(Datastore.hosts.through, "datastore_id", "host_id", {d.pk: h for d, h in links})


def _wanted_networks(run: ImportRun) -> dict[tuple[str, str], list[str]]:
    """The port groups to bring in: every named one, and the unnamed one only when a VM uses it."""
    used = {(vm.datacenter, vm.networks[0] if vm.networks else "") for vm in run.export.vms}
    return {k: v for k, v in run.export.networks.items() if k[1] or k in used}


def _shared_segments(run: ImportRun, wanted: dict) -> dict[int, dict[str, NetworkSegment]]:
    """Segments that are not this estate's, by site and name: a port group of that name on that site joins one."""
    shared: dict[int, dict[str, NetworkSegment]] = defaultdict(dict)
    names = {pg or "(no network)" for _dc, pg in wanted}
    for segment in NetworkSegment.objects.filter(name__in=names).exclude(run.own).prefetch_related("sites"):
        for s in segment.sites.all():
            shared[s.pk][segment.name] = segment
    return shared


def write_segments(run: ImportRun) -> None:
    """Each port group as a segment on its datacenter's site (a network holding every address reported on it), or
    joining a segment of that name already on that site (not this estate's to change)."""
    wanted = _wanted_networks(run)
    run.own_segments = {
        s.external_id: s for s in NetworkSegment.objects.filter(estate=run.estate).prefetch_related("sites")
    }
    shared = _shared_segments(run, wanted)
    taken_names = set(NetworkSegment.objects.values_list("name", flat=True))
    next_overlay = (NetworkSegment.objects.aggregate(m=Max("overlay_id"))["m"] or 5000) + 1
    new, changed, links = [], [], []
    for (dc, pg), ips in sorted(wanted.items()):
        site, label, key = run.site_of[dc], pg or "(no network)", f"{dc}/{pg}"[:300]
        segment = run.own_segments.pop(key, None)
        if segment is None and label in shared[site.pk]:
            run.segment_of[(dc, pg)] = shared[site.pk][label]
            run.joined.add(f"{label} ({dc})")
            continue
        cidr = _network_for(ips)
        values = {"cidr": cidr, "gateway": str(ipaddress.ip_network(cidr).network_address + 1)}
        is_new, differs = segment is None, False
        if is_new:
            names = (label, f"{label} ({dc})", f"{label} ({run.estate.name} {dc})", key)
            name = next(n for n in names if n[:100] not in taken_names)[:100]
            taken_names.add(name)
            segment = NetworkSegment(name=name, overlay_id=next_overlay, estate=run.estate, external_id=key, **values)
            next_overlay += 1
            new.append(segment)
            links.append((segment, {site.pk}))
        else:
            if differs := assign_changed(segment, values):
                changed.append(segment)
            if {s.pk for s in segment.sites.all()} != {site.pk}:
                links.append((segment, {site.pk}))
                differs = True
        _count(run.tallies["segments"], new=is_new, differs=differs)
        run.segment_of[(dc, pg)] = segment
    _save_all(NetworkSegment, new, changed, ["cidr", "gateway"], estate=run.estate, key=lambda s: s.external_id)
    _set_links(NetworkSegment.sites.through, "networksegment_id", "site_id", {s.pk: sites for s, sites in links})


# -- workloads ------------------------------------------------------------------------------------------------------


def _vm_ip(run: ImportRun, vm, segment: NetworkSegment, taken: set, networks: dict) -> str | None:
    """The VM's address: none when another VM already has it on the segment (a warning); one outside the segment
    is kept, with a warning."""
    ip = vm.ip_address
    if ip is None:
        return None
    if (segment.pk, ip) in taken:
        run.warnings.append(f"vInfo row {vm.row}: VM {vm.name} reports {ip}, already used on segment "
                            f"{segment.name}; imported without an IP")  # fmt: skip
        return None
    taken.add((segment.pk, ip))
    if segment.pk not in networks:
        networks[segment.pk] = ipaddress.ip_network(segment.cidr, strict=False)
    if ipaddress.ip_address(ip) not in networks[segment.pk]:
        run.warnings.append(f"vInfo row {vm.row}: VM {vm.name} reports {ip}, outside segment {segment.name} "
                            f"({segment.cidr})")  # fmt: skip
    return ip


def _new_workload(run: ImportRun, vm, values: dict) -> Workload:
    """A workload the estate did not have: its dirty rate and working set from `inventory.assumptions`."""
    assumption = workload_dirty_assumption(
        name=vm.name, guest_os=vm.guest_os, memory_bytes=vm.memory_bytes, annotation=vm.annotation
    )
    run.assumed[assumption.rule] += 1
    return Workload(
        estate=run.estate, external_id=vm.uuid, dirty_rate_bps=assumption.dirty_rate_bps,
        working_set_bytes=assumption.working_set_bytes, created_at=run.now, updated_at=run.now, **values,
    )  # fmt: skip


def _compare_workloads(run: ImportRun, taken: set) -> tuple[list[Workload], list[Workload], list[int]]:
    """(new, changed, readdressed: changed ones whose old address must be freed first) for every VM listed."""
    new, changed, readdressed = [], [], []
    networks: dict[int, Any] = {}
    total = len(run.export.vms)
    for i, vm in enumerate(run.export.vms):
        segment = run.segment_of[(vm.datacenter, vm.networks[0] if vm.networks else "")]
        ip = _vm_ip(run, vm, segment, taken, networks)
        host = run.host_of[vm.host]
        if vm.power_state == PowerState.ON:
            run.memory_on[host.name] += vm.memory_bytes
        values = {
            "name": vm.name, "vcpus": vm.vcpus, "memory_bytes": vm.memory_bytes, "disk_bytes": vm.provisioned_bytes,
            "disk_used_bytes": vm.in_use_bytes, "power_state": vm.power_state, "host_id": host.pk,
            "datastore_id": run.datastore_of[vm.datastore].pk, "segment_id": segment.pk, "ip_address": ip,
            "guest_os": vm.guest_os, "annotation": vm.annotation,
        }  # fmt: skip
        workload = run.existing_workloads.get(vm.uuid)
        differs = False
        if workload is None:
            new.append(_new_workload(run, vm, values))
        else:
            old_ip = workload.ip_address
            values["working_set_bytes"] = min(workload.working_set_bytes, vm.memory_bytes)
            if differs := assign_changed(workload, values):
                workload.updated_at = run.now
                changed.append(workload)
                if old_ip is not None and old_ip != ip:
                    readdressed.append(workload.pk)
        _count(run.tallies["workloads"], new=workload is None, differs=differs)
        if i % 2000 == 1999:
            run.progress(0.8 + 0.1 * i / total, f"Compared {i + 1:,} of {total:,} workloads")
    return new, changed, readdressed


def write_workloads(run: ImportRun) -> None:
    """The VMs the export no longer lists go; each listed one is added or updated (addresses unique per segment)."""
    joined_segments = [s.pk for s in run.segment_of.values() if s.estate_id != run.estate.pk]
    taken = set(
        Workload.objects.filter(segment_id__in=joined_segments, ip_address__isnull=False)
        .exclude(run.own)
        .values_list("segment_id", "ip_address")
    )
    if run.doomed:
        Workload.objects.filter(pk__in=[w.pk for w in run.doomed]).delete()
        run.tallies["workloads"].removed = len(run.doomed)
    new, changed, readdressed = _compare_workloads(run, taken)
    # Addresses that move from one VM to another: free them all first (unique per segment, checked per row).
    for start in range(0, len(readdressed), BATCH):
        Workload.objects.filter(pk__in=readdressed[start : start + BATCH]).update(ip_address=None)
    Workload.objects.bulk_update(changed, WORKLOAD_FIELDS, batch_size=BATCH)
    for start in range(0, len(new), BATCH):
        Workload.objects.bulk_create(new[start : start + BATCH])
        run.progress(0.9 + 0.08 * min(start + BATCH, len(new)) / len(new), "Writing workloads")
