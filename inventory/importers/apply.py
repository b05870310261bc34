"""Applying a validated RVTools export to the inventory: one estate, in one transaction, in bulk.

    summary = estate_import_apply(export=parse_rvtools(read_export(path)), site_choices={"DC1": site.pk})

Rules:
- The estate is found by the vCenter's instance UUID (vSource), else by name (`estate_name`, else the vCenter's
  name from the export); a new one is created otherwise.
- Each datacenter goes to the site chosen for it (`site_choices`, datacenter name -> site id, or None for a new
  site), else the site it went to last time, else the site of the same name, else a new private site named after it
  (location unknown: set it in the admin).
- Identity: clusters by (site, name), hosts by name, datastores by (site, name), port groups by (datacenter, name),
  VMs by VM UUID within the estate. A name already used by something that is not this estate's is refused (the
  inventory's names are unique); a port group whose name is a segment present on the datacenter's site joins it
  (that is how an imported VM lands on a stretched segment).
- What the export lists is added or updated; what this estate has and the export no longer lists is removed. A
  workload with an active migration (any `inventory.removal` guard) is not removed: the whole import is refused,
  naming it, and nothing changes. A host, datastore or segment something else still uses (a migrated workload,
  migration history) is kept, and the summary says so.
- Only rows whose values differ are written, so importing the same file twice changes nothing (no timestamp moves).
- New workloads get their dirty rate and working set from `inventory.assumptions`; workloads that already exist keep
  theirs (someone may have measured them), clamped to their memory.
- A second VM reporting an IP already used on its segment keeps no IP (listed in the warnings); powered-on VMs
  over-committing a host's memory are imported as they are (vSphere allows it) and listed.
- One audit entry records the import with its summary.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.db.models import Max, ProtectedError, Q
from django.utils import timezone

from hybridcloud.core.audit import audit_record
from hybridcloud.core.models import AuditVia
from hybridcloud.core.units import format_bytes
from inventory.assumptions import workload_dirty_assumption
from inventory.choices import BASELINE_LEVELS, CpuBaseline, CpuVendor, DatastoreKind, HostState, PowerState, SiteKind
from inventory.importers.rvtools import Problem, RVToolsExport, RVToolsRefused
from inventory.models import (
    Cluster,
    Datastore,
    Estate,
    EstateDatacenter,
    Host,
    NetworkSegment,
    Site,
    Workload,
)
from inventory.removal import workload_removal_objections

BATCH = 1000
KINDS = ("sites", "clusters", "hosts", "datastores", "segments", "workloads")
UNKNOWN_RANGE = "192.0.2.0/24"  # TEST-NET-1: a port group on which no VM reported an address
ProgressFn = Callable[[float, str], None]


@dataclass
class Tally:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    kept: list[str] = field(default_factory=list)  # would be removed, still used


def _changed(obj: models.Model, values: dict[str, Any]) -> bool:
    """Sets `values` on obj; True when any differed."""
    differs = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            differs = True
    return differs


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


def _delete_unused(queryset: models.QuerySet, label: Callable[[Any], str], tally: Tally) -> None:
    """Deletes what it can; what something still references is kept and listed."""
    try:
        with transaction.atomic():
            tally.removed += queryset.delete()[1].get(queryset.model._meta.label, 0)
        return
    except ProtectedError:
        pass
    for obj in list(queryset):
        try:
            with transaction.atomic():
                obj.delete()
            tally.removed += 1
        except ProtectedError:
            tally.kept.append(label(obj))


def _headline(tallies: dict[str, Tally], changes: int) -> str:
    """ "12 changes: added 2 hosts, 10 workloads; removed 1 workload" (or that nothing changed)."""
    if not changes:
        return "0 changes: the inventory already matches this export"
    parts = []
    for verb in ("added", "updated", "removed"):
        items = [f"{n} {kind if n != 1 else kind.removesuffix('s')}" for kind, t in tallies.items()
                 if (n := getattr(t, verb))]  # fmt: skip
        if items:
            parts.append(f"{verb} {', '.join(items)}")
    return f"{changes} change{'s' if changes != 1 else ''}: {'; '.join(parts)}"


def estate_import_apply(
    *,
    export: RVToolsExport,
    site_choices: dict[str, int | None] | None = None,
    estate_name: str = "",
    file_name: str = "",
    actor=None,
    via: str | None = None,
    on_progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Brings the estate in line with the export (see the module's rules) and returns the summary; raises
    `RVToolsRefused` (nothing changed) when names clash or a workload to remove is being migrated."""
    progress = on_progress or (lambda fraction, stage: None)
    site_choices = dict(site_choices or {})
    with transaction.atomic():
        summary = _apply(export, site_choices, estate_name, progress)
        estate = summary.pop("_estate")
        audit_record(
            action="inventory.import",
            target=estate,
            actor=actor,
            after=summary,
            via=via or AuditVia.CLI,
            message=f"RVTools import of {file_name or 'an export'}: {summary['headline']}",
        )
    summary["estate_id"] = estate.pk
    return summary


def _find_estate(export: RVToolsExport, estate_name: str) -> Estate | None:
    if export.vcenter_uuid:
        found = Estate.objects.select_for_update().filter(vcenter_uuid=export.vcenter_uuid).first()
        if found:
            return found
    name = (estate_name or export.vcenter or "RVTools estate")[:100]
    return Estate.objects.select_for_update().filter(name=name).first()


def _apply(export: RVToolsExport, site_choices: dict[str, int | None], estate_name: str, progress: ProgressFn) -> dict:
    now = timezone.now()
    tallies = {kind: Tally() for kind in KINDS}
    warnings: list[str] = []
    problems: list[Problem] = []
    estate = _find_estate(export, estate_name)
    new_estate = estate is None
    if estate is None:
        estate = Estate(
            name=(estate_name or export.vcenter or "RVTools estate")[:100],
            vcenter=export.vcenter[:200],
            vcenter_uuid=export.vcenter_uuid[:64],
        )

    # Sites: chosen, remembered, same name, or new.
    datacenters = export.datacenters
    remembered = {} if new_estate else {m.name: m.site_id for m in estate.datacenters.all()}
    sites_by_id = {s.pk: s for s in Site.objects.all()}
    sites_by_name = {s.name: s for s in sites_by_id.values()}
    for dc, site_id in site_choices.items():
        if dc not in datacenters:
            problems.append(
                Problem("vInfo", None, "Datacenter", f"datacenter '{dc}' (given a site) is not in the file")
            )
        elif site_id is not None and site_id not in sites_by_id:
            problems.append(Problem("vInfo", None, "Datacenter", f"site #{site_id} chosen for '{dc}' does not exist"))
    site_of: dict[str, Site | None] = {}
    for dc in datacenters:
        if dc in site_choices:  # chosen: a site, or None for a new one
            site_of[dc] = sites_by_id.get(site_choices[dc]) if site_choices[dc] is not None else None
        elif dc in remembered:
            site_of[dc] = sites_by_id.get(remembered[dc])
        else:
            site_of[dc] = sites_by_name.get(dc[:100])

    # Names that belong to something else.
    own = Q(estate=estate) if estate.pk else Q(pk__in=[])
    for name in Host.objects.filter(name__in=list(export.hosts)).exclude(own).values_list("name", flat=True):
        problems.append(
            Problem("vHost", export.hosts[name].row, "Host", f"host {name} already exists in the inventory and is "
                    "not this estate's (host names are unique)")
        )  # fmt: skip
    site_ids = [s.pk for s in site_of.values() if s is not None]
    foreign_clusters = set(Cluster.objects.filter(site_id__in=site_ids).exclude(own).values_list("site_id", "name"))
    for dc, name in sorted(export.clusters):
        site = site_of[dc]
        if site is not None and (site.pk, name) in foreign_clusters:
            problems.append(
                Problem("vHost", None, "Cluster", f"cluster {name} already exists on {site} and is not this estate's")
            )
    foreign_datastores = set(Datastore.objects.filter(site_id__in=site_ids).exclude(own).values_list("site_id", "name"))
    for ds in export.datastores.values():
        site = site_of[ds.datacenter]
        if site is not None and (site.pk, ds.name) in foreign_datastores:  # noqa: SIM102
            problems.append(
                Problem("vDatastore", ds.row, "Name", f"datastore {ds.name} already exists on {site} and is not this "
                        "estate's")
            )  # fmt: skip

    # Workloads that would go, and whether anything objects.
    existing_workloads = {w.external_id: w for w in Workload.objects.filter(estate=estate)} if estate.pk else {}
    listed = {vm.uuid for vm in export.vms}
    doomed = [w for uid, w in existing_workloads.items() if uid not in listed]
    objections = workload_removal_objections([w.pk for w in doomed])
    for workload in doomed:
        for reason in objections.get(workload.pk, []):
            problems.append(
                Problem("vInfo", None, "VM UUID", f"VM {workload.name} ({workload.external_id}) is no longer in the "
                        f"export but cannot be removed: {reason}; let it finish or cancel it, then import again")
            )  # fmt: skip
    if problems:
        raise RVToolsRefused(problems)
    progress(0.72, "Writing sites, clusters and hosts")

    # Writes from here on.
    if new_estate:
        estate.save()
    elif _changed(estate, {"vcenter": export.vcenter[:200] or estate.vcenter}):
        estate.save(update_fields=["vcenter", "updated_at"])
    for dc in datacenters:
        if site_of[dc] is None:
            candidates = [dc[:100], f"{dc} ({estate.name})"[:100]] + [f"{dc[:90]} ({n})" for n in range(2, 100)]
            name = next(c for c in candidates if c not in sites_by_name)
            site = Site.objects.create(
                name=name, kind=SiteKind.PRIVATE, provider="On-premises", location="Unknown (set it in the admin)",
                latitude=0, longitude=0, description=f"Created by the RVTools import of estate {estate.name}.",
            )  # fmt: skip
            sites_by_name[site.name] = site
            site_of[dc] = site
            tallies["sites"].added += 1
        else:
            tallies["sites"].unchanged += 1
        mapping, created = EstateDatacenter.objects.get_or_create(
            estate=estate, name=dc, defaults={"site": site_of[dc]}
        )
        if not created and mapping.site_id != site_of[dc].pk:
            mapping.site = site_of[dc]
            mapping.save(update_fields=["site"])

    # Clusters.
    cpu_by_cluster: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for host in export.hosts.values():
        cpu_by_cluster[(host.datacenter, host.cluster)].append((host.cpu_model, host.evc_mode))
    own_clusters = {(c.site_id, c.name): c for c in Cluster.objects.filter(estate=estate)}
    cluster_of: dict[tuple[str, str], Cluster] = {}
    tally = tallies["clusters"]
    new_clusters, changed_clusters = [], []
    for dc, name in sorted(export.clusters):
        vendor, baseline = _vendor_and_baseline(cpu_by_cluster.get((dc, name), []))
        site = site_of[dc]
        cluster = own_clusters.pop((site.pk, name[:100]), None)
        if cluster is None:
            # A datacenter moved to another site: its clusters move with it.
            cluster = next((c for (s, n), c in own_clusters.items() if n == name[:100]), None)
            if cluster is not None:
                own_clusters.pop((cluster.site_id, cluster.name))
        values = {"site_id": site.pk, "name": name[:100], "cpu_vendor": vendor, "cpu_baseline": baseline}
        if cluster is None:
            cluster = Cluster(estate=estate, **values)
            new_clusters.append(cluster)
            tally.added += 1
        elif _changed(cluster, values):
            changed_clusters.append(cluster)
            tally.updated += 1
        else:
            tally.unchanged += 1
        cluster_of[(dc, name)] = cluster
    _save_all(Cluster, new_clusters, changed_clusters, ["site", "name", "cpu_vendor", "cpu_baseline"], estate=estate,
              key=lambda c: (c.site_id, c.name))  # fmt: skip

    # Hosts.
    own_hosts = {h.name: h for h in Host.objects.filter(estate=estate)}
    host_of: dict[str, Host] = {}
    tally = tallies["hosts"]
    new_hosts, changed_hosts = [], []
    host_fields = ["cluster_id", "cores", "ghz", "memory_bytes", "state", "cpu_model", "esx_version", "evc_mode",
                   "migration_nic_gbps", "migration_mtu_bytes"]  # fmt: skip
    for name, rv in export.hosts.items():
        host = own_hosts.pop(name, None)
        values = {
            "cluster_id": cluster_of[(rv.datacenter, rv.cluster)].pk, "cores": rv.cores, "ghz": rv.ghz,
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
        if host is None:
            host = Host(name=name[:100], estate=estate, **values)
            new_hosts.append(host)
            tally.added += 1
        elif _changed(host, values):
            changed_hosts.append(host)
            tally.updated += 1
        else:
            tally.unchanged += 1
        host_of[name] = host
    _save_all(Host, new_hosts, changed_hosts, [f.removesuffix("_id") if f == "cluster_id" else f for f in host_fields],
              estate=estate, key=lambda h: h.name)  # fmt: skip
    progress(0.76, "Writing datastores and port groups")

    # Datastores, with the hosts that see them.
    own_datastores = {(d.site_id, d.name): d for d in Datastore.objects.filter(estate=estate).prefetch_related("hosts")}
    datastore_of: dict[str, Datastore] = {}
    tally = tallies["datastores"]
    new_datastores, changed_datastores, datastore_hosts = [], [], []
    for name, rv in export.datastores.items():
        site = site_of[rv.datacenter]
        datastore = own_datastores.pop((site.pk, rv.name), None)
        if datastore is None:
            datastore = next((d for (s, n), d in own_datastores.items() if n == rv.name), None)
            if datastore is not None:
                own_datastores.pop((datastore.site_id, datastore.name))
        values = {
            "site_id": site.pk, "kind": DatastoreKind.LOCAL if rv.local else DatastoreKind.SHARED,
            "capacity_bytes": rv.capacity_bytes, "used_bytes": rv.capacity_bytes - rv.free_bytes,
        }  # fmt: skip
        wanted_hosts = {host_of[h].pk for h in rv.hosts}
        if datastore is None:
            datastore = Datastore(estate=estate, name=rv.name, **values)
            new_datastores.append(datastore)
            datastore_hosts.append((datastore, wanted_hosts))
            tally.added += 1
        else:
            differs = _changed(datastore, values)
            if differs:
                changed_datastores.append(datastore)
            if {h.pk for h in datastore.hosts.all()} != wanted_hosts:
                datastore_hosts.append((datastore, wanted_hosts))
                differs = True
            tally.updated += differs
            tally.unchanged += not differs
        datastore_of[name] = datastore
    _save_all(Datastore, new_datastores, changed_datastores, ["site", "kind", "capacity_bytes", "used_bytes"],
              estate=estate, key=lambda d: (d.site_id, d.name))  # fmt: skip
    _set_links(Datastore.hosts.through, "datastore_id", "host_id", {d.pk: h for d, h in datastore_hosts})

    # Port groups → segments.
    used_networks = {(vm.datacenter, vm.networks[0] if vm.networks else "") for vm in export.vms}
    wanted_networks = {k: v for k, v in export.networks.items() if k[1] or k in used_networks}
    own_segments = {s.external_id: s for s in NetworkSegment.objects.filter(estate=estate).prefetch_related("sites")}
    shared_by_site = defaultdict(dict)  # site id -> name -> segment (segments that are not this estate's)
    pg_names = {pg or "(no network)" for _dc, pg in wanted_networks}
    for segment in NetworkSegment.objects.filter(name__in=pg_names).exclude(own).prefetch_related("sites"):
        for s in segment.sites.all():
            shared_by_site[s.pk][segment.name] = segment
    taken_names = set(NetworkSegment.objects.values_list("name", flat=True))
    next_overlay = (NetworkSegment.objects.aggregate(m=Max("overlay_id"))["m"] or 5000) + 1
    segment_of: dict[tuple[str, str], NetworkSegment] = {}
    joined: set[str] = set()
    tally = tallies["segments"]
    new_segments, changed_segments, segment_sites = [], [], []
    for (dc, pg), ips in sorted(wanted_networks.items()):
        site = site_of[dc]
        label = pg or "(no network)"
        key = f"{dc}/{pg}"[:300]
        segment = own_segments.pop(key, None)
        if segment is None and label in shared_by_site[site.pk]:
            segment_of[(dc, pg)] = shared_by_site[site.pk][label]
            joined.add(f"{label} ({dc})")
            continue  # joins an existing segment of that name on that site; not this estate's to change
        cidr = _network_for(ips)
        network = ipaddress.ip_network(cidr)
        values = {"cidr": cidr, "gateway": str(network.network_address + 1)}
        if segment is None:
            name = next(n for n in (label, f"{label} ({dc})", f"{label} ({estate.name} {dc})", key) if n[:100] not in
                        taken_names)[:100]  # fmt: skip
            taken_names.add(name)
            segment = NetworkSegment(name=name, overlay_id=next_overlay, estate=estate, external_id=key, **values)
            next_overlay += 1
            new_segments.append(segment)
            segment_sites.append((segment, {site.pk}))
            tally.added += 1
        else:
            differs = _changed(segment, values)
            if differs:
                changed_segments.append(segment)
            if {s.pk for s in segment.sites.all()} != {site.pk}:
                segment_sites.append((segment, {site.pk}))
                differs = True
            tally.updated += differs
            tally.unchanged += not differs
        segment_of[(dc, pg)] = segment
    _save_all(NetworkSegment, new_segments, changed_segments, ["cidr", "gateway"], estate=estate,
              key=lambda s: s.external_id)  # fmt: skip
    _set_links(NetworkSegment.sites.through, "networksegment_id", "site_id",
               {s.pk: sites for s, sites in segment_sites})  # fmt: skip
    progress(0.8, f"Writing {len(export.vms):,} workloads")

    # Workloads.
    tally = tallies["workloads"]
    joined_segments = [s.pk for s in segment_of.values() if s.estate_id != estate.pk]
    taken_ips = set(
        Workload.objects.filter(segment_id__in=joined_segments, ip_address__isnull=False)
        .exclude(own)
        .values_list("segment_id", "ip_address")
    )
    if doomed:
        Workload.objects.filter(pk__in=[w.pk for w in doomed]).delete()
        tally.removed = len(doomed)
    assumed: Counter[str] = Counter()
    new_workloads, changed_workloads, readdressed = [], [], []
    fields = ["name", "vcpus", "memory_bytes", "disk_bytes", "disk_used_bytes", "power_state", "host", "datastore",
              "segment", "ip_address", "guest_os", "annotation", "working_set_bytes", "updated_at"]  # fmt: skip
    memory_on = defaultdict(int)
    networks: dict[int, ipaddress.IPv4Network | ipaddress.IPv6Network] = {}
    for i, vm in enumerate(export.vms):
        segment = segment_of[(vm.datacenter, vm.networks[0] if vm.networks else "")]
        ip = vm.ip_address
        if ip is not None:
            if (segment.pk, ip) in taken_ips:
                warnings.append(f"vInfo row {vm.row}: VM {vm.name} reports {ip}, already used on segment "
                                f"{segment.name}; imported without an IP")  # fmt: skip
                ip = None
            else:
                taken_ips.add((segment.pk, ip))
                if segment.pk not in networks:
                    networks[segment.pk] = ipaddress.ip_network(segment.cidr, strict=False)
                if ipaddress.ip_address(ip) not in networks[segment.pk]:
                    warnings.append(f"vInfo row {vm.row}: VM {vm.name} reports {ip}, outside segment {segment.name} "
                                    f"({segment.cidr})")  # fmt: skip
        host = host_of[vm.host]
        if vm.power_state == PowerState.ON:
            memory_on[host.name] += vm.memory_bytes
        values = {
            "name": vm.name, "vcpus": vm.vcpus, "memory_bytes": vm.memory_bytes, "disk_bytes": vm.provisioned_bytes,
            "disk_used_bytes": vm.in_use_bytes, "power_state": vm.power_state, "host_id": host.pk,
            "datastore_id": datastore_of[vm.datastore].pk, "segment_id": segment.pk, "ip_address": ip,
            "guest_os": vm.guest_os, "annotation": vm.annotation,
        }  # fmt: skip
        workload = existing_workloads.get(vm.uuid)
        if workload is None:
            assumption = workload_dirty_assumption(
                name=vm.name, guest_os=vm.guest_os, memory_bytes=vm.memory_bytes, annotation=vm.annotation
            )
            assumed[assumption.rule] += 1
            new_workloads.append(
                Workload(
                    estate=estate, external_id=vm.uuid, dirty_rate_bps=assumption.dirty_rate_bps,
                    working_set_bytes=assumption.working_set_bytes, created_at=now, updated_at=now, **values,
                )
            )  # fmt: skip
            tally.added += 1
        else:
            old_ip = workload.ip_address
            values["working_set_bytes"] = min(workload.working_set_bytes, vm.memory_bytes)
            if _changed(workload, values):
                workload.updated_at = now
                changed_workloads.append(workload)
                if old_ip is not None and old_ip != ip:
                    readdressed.append(workload.pk)
                tally.updated += 1
            else:
                tally.unchanged += 1
        if i % 2000 == 1999:
            progress(0.8 + 0.1 * i / len(export.vms), f"Compared {i + 1:,} of {len(export.vms):,} workloads")
    # Addresses that move from one VM to another: free them all first (unique per segment, checked per row).
    for start in range(0, len(readdressed), BATCH):
        Workload.objects.filter(pk__in=readdressed[start : start + BATCH]).update(ip_address=None)
    Workload.objects.bulk_update(changed_workloads, fields, batch_size=BATCH)
    for start in range(0, len(new_workloads), BATCH):
        Workload.objects.bulk_create(new_workloads[start : start + BATCH])
        progress(0.9 + 0.08 * min(start + BATCH, len(new_workloads)) / len(new_workloads), "Writing workloads")

    # What this estate had and the export no longer lists.
    progress(0.98, "Removing what the export no longer lists")
    in_use = Q(workloads__isnull=False)
    _delete_unused(NetworkSegment.objects.filter(pk__in=[s.pk for s in own_segments.values()]).exclude(in_use),
                   lambda s: f"segment {s.name}", tallies["segments"])  # fmt: skip
    _delete_unused(Datastore.objects.filter(pk__in=[d.pk for d in own_datastores.values()]).exclude(in_use),
                   lambda d: f"datastore {d.name}", tallies["datastores"])  # fmt: skip
    _delete_unused(Host.objects.filter(pk__in=[h.pk for h in own_hosts.values()]).exclude(in_use),
                   lambda h: f"host {h.name}", tallies["hosts"])  # fmt: skip
    _delete_unused(Cluster.objects.filter(pk__in=[c.pk for c in own_clusters.values()]).exclude(hosts__isnull=False),
                   lambda c: f"cluster {c.name}", tallies["clusters"])  # fmt: skip
    for kind, objs in (("segments", own_segments), ("datastores", own_datastores), ("hosts", own_hosts),
                       ("clusters", own_clusters)):  # fmt: skip
        still = len(objs) - tallies[kind].removed - len(tallies[kind].kept)
        if still > 0:
            tallies[kind].kept.append(f"{still} still used by workloads from elsewhere")

    for name, used in sorted(memory_on.items()):
        host = host_of[name]
        if used > host.memory_bytes:
            warnings.append(f"host {name}: powered-on VMs have {format_bytes(used)} of memory on "
                            f"{format_bytes(host.memory_bytes)} (over-committed, as vSphere allows)")  # fmt: skip
    changes = sum(t.added + t.updated + t.removed for t in tallies.values())
    return {
        "_estate": estate,
        "estate": estate.name,
        "headline": _headline(tallies, changes),
        "changes": changes,
        "counts": {
            kind: {
                "added": t.added,
                "updated": t.updated,
                "removed": t.removed,
                "unchanged": t.unchanged,
                "kept": t.kept,
            }
            for kind, t in tallies.items()
        },  # fmt: skip
        "templates_skipped": export.templates_skipped,
        "datacenters": {dc: site_of[dc].name for dc in datacenters},
        "segments_joined": sorted(joined),
        "assumptions": {
            "note": "RVTools has no memory dirty rates: new workloads got the default for their role or OS "
            "(inventory.assumptions); workloads already here kept theirs.",
            "applied": dict(sorted(assumed.items())),
        },
        "warnings": warnings[:50],
        "warning_count": len(warnings),
        "tabs": dict(export.tab_rows),
    }
