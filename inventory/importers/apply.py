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

from collections.abc import Callable
from typing import Any

from django.db import models, transaction
from django.db.models import ProtectedError, Q
from django.utils import timezone

from hybridcloud.core.audit import audit_record
from hybridcloud.core.models import AuditVia
from hybridcloud.core.units import format_bytes
from inventory.choices import SiteKind
from inventory.importers.records import Problem, RVToolsExport, RVToolsRefused
from inventory.importers.writes import (
    ImportRun,
    ProgressFn,
    Tally,
    assign_changed,
    write_clusters,
    write_datastores,
    write_hosts,
    write_segments,
    write_workloads,
)
from inventory.models import Cluster, Datastore, Estate, EstateDatacenter, Host, NetworkSegment, Site, Workload
from inventory.removal import workload_removal_objections


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


def _start(export: RVToolsExport, estate_name: str, progress: ProgressFn) -> ImportRun:
    """The import's state, with its estate: found (`_find_estate`) or a new one (saved only once nothing refuses)."""
    estate = _find_estate(export, estate_name)
    new_estate = estate is None
    if estate is None:
        estate = Estate(
            name=(estate_name or export.vcenter or "RVTools estate")[:100],
            vcenter=export.vcenter[:200],
            vcenter_uuid=export.vcenter_uuid[:64],
        )
    return ImportRun(export=export, estate=estate, new_estate=new_estate, progress=progress, now=timezone.now())


def _resolve_sites(run: ImportRun, site_choices: dict[str, int | None]) -> None:
    """Each datacenter's site: chosen, remembered, same name, or None (a new one, made when writing)."""
    datacenters = run.export.datacenters
    remembered = {} if run.new_estate else {m.name: m.site_id for m in run.estate.datacenters.all()}
    sites_by_id = {s.pk: s for s in Site.objects.all()}
    run.sites_by_name = {s.name: s for s in sites_by_id.values()}
    for dc, site_id in site_choices.items():
        if dc not in datacenters:
            run.problems.append(
                Problem("vInfo", None, "Datacenter", f"datacenter '{dc}' (given a site) is not in the file")
            )
        elif site_id is not None and site_id not in sites_by_id:
            run.problems.append(
                Problem("vInfo", None, "Datacenter", f"site #{site_id} chosen for '{dc}' does not exist")
            )
    for dc in datacenters:
        if dc in site_choices:  # chosen: a site, or None for a new one
            run.site_of[dc] = sites_by_id.get(site_choices[dc]) if site_choices[dc] is not None else None
        elif dc in remembered:
            run.site_of[dc] = sites_by_id.get(remembered[dc])
        else:
            run.site_of[dc] = run.sites_by_name.get(dc[:100])


def _name_clashes(run: ImportRun) -> None:
    """Names that belong to something else (hosts anywhere; clusters and datastores on the same site)."""
    export, own = run.export, run.own
    for name in Host.objects.filter(name__in=list(export.hosts)).exclude(own).values_list("name", flat=True):
        run.problems.append(
            Problem("vHost", export.hosts[name].row, "Host", f"host {name} already exists in the inventory and is "
                    "not this estate's (host names are unique)")
        )  # fmt: skip
    site_ids = [s.pk for s in run.site_of.values() if s is not None]
    foreign_clusters = set(Cluster.objects.filter(site_id__in=site_ids).exclude(own).values_list("site_id", "name"))
    for dc, name in sorted(export.clusters):
        site = run.site_of[dc]
        if site is not None and (site.pk, name) in foreign_clusters:
            run.problems.append(
                Problem("vHost", None, "Cluster", f"cluster {name} already exists on {site} and is not this estate's")
            )
    foreign_datastores = set(Datastore.objects.filter(site_id__in=site_ids).exclude(own).values_list("site_id", "name"))
    for ds in export.datastores.values():
        site = run.site_of[ds.datacenter]
        if site is not None and (site.pk, ds.name) in foreign_datastores:  # noqa: SIM102
            run.problems.append(
                Problem("vDatastore", ds.row, "Name", f"datastore {ds.name} already exists on {site} and is not this "
                        "estate's")
            )  # fmt: skip


def _doomed_workloads(run: ImportRun) -> None:
    """The estate's workloads the export no longer lists, and a problem for each that something will not let go."""
    run.existing_workloads = (
        {w.external_id: w for w in Workload.objects.filter(estate=run.estate)} if run.estate.pk else {}
    )
    listed = {vm.uuid for vm in run.export.vms}
    run.doomed = [w for uid, w in run.existing_workloads.items() if uid not in listed]
    objections = workload_removal_objections([w.pk for w in run.doomed])
    for workload in run.doomed:
        for reason in objections.get(workload.pk, []):
            run.problems.append(
                Problem("vInfo", None, "VM UUID", f"VM {workload.name} ({workload.external_id}) is no longer in the "
                        f"export but cannot be removed: {reason}; let it finish or cancel it, then import again")
            )  # fmt: skip


def _write_estate_and_sites(run: ImportRun) -> None:
    """The estate, a new private site for each datacenter that has none, and the datacenter -> site mapping."""
    estate = run.estate
    if run.new_estate:
        estate.save()
    elif assign_changed(estate, {"vcenter": run.export.vcenter[:200] or estate.vcenter}):
        estate.save(update_fields=["vcenter", "updated_at"])
    for dc in run.export.datacenters:
        if run.site_of[dc] is None:
            candidates = [dc[:100], f"{dc} ({estate.name})"[:100]] + [f"{dc[:90]} ({n})" for n in range(2, 100)]
            name = next(c for c in candidates if c not in run.sites_by_name)
            site = Site.objects.create(
                name=name, kind=SiteKind.PRIVATE, provider="On-premises", location="Unknown (set it in the admin)",
                latitude=0, longitude=0, description=f"Created by the RVTools import of estate {estate.name}.",
            )  # fmt: skip
            run.sites_by_name[site.name] = site
            run.site_of[dc] = site
            run.tallies["sites"].added += 1
        else:
            run.tallies["sites"].unchanged += 1
        mapping, created = EstateDatacenter.objects.get_or_create(
            estate=estate, name=dc, defaults={"site": run.site_of[dc]}
        )
        if not created and mapping.site_id != run.site_of[dc].pk:
            mapping.site = run.site_of[dc]
            mapping.save(update_fields=["site"])


def _remove_unlisted(run: ImportRun) -> None:
    """What this estate had and the export no longer lists, unless something still uses it."""
    in_use = Q(workloads__isnull=False)
    t = run.tallies
    _delete_unused(NetworkSegment.objects.filter(pk__in=[s.pk for s in run.own_segments.values()]).exclude(in_use),
                   lambda s: f"segment {s.name}", t["segments"])  # fmt: skip
    _delete_unused(Datastore.objects.filter(pk__in=[d.pk for d in run.own_datastores.values()]).exclude(in_use),
                   lambda d: f"datastore {d.name}", t["datastores"])  # fmt: skip
    _delete_unused(Host.objects.filter(pk__in=[h.pk for h in run.own_hosts.values()]).exclude(in_use),
                   lambda h: f"host {h.name}", t["hosts"])  # fmt: skip
    _delete_unused(Cluster.objects.filter(pk__in=[c.pk for c in run.own_clusters.values()])
                   .exclude(hosts__isnull=False), lambda c: f"cluster {c.name}", t["clusters"])  # fmt: skip
    for kind, objs in (("segments", run.own_segments), ("datastores", run.own_datastores), ("hosts", run.own_hosts),
                       ("clusters", run.own_clusters)):  # fmt: skip
        still = len(objs) - t[kind].removed - len(t[kind].kept)
        if still > 0:
            t[kind].kept.append(f"{still} still used by workloads from elsewhere")


def _summary(run: ImportRun) -> dict:
    for name, used in sorted(run.memory_on.items()):
        host = run.host_of[name]
        if used > host.memory_bytes:
            run.warnings.append(f"host {name}: powered-on VMs have {format_bytes(used)} of memory on "
                                f"{format_bytes(host.memory_bytes)} (over-committed, as vSphere allows)")  # fmt: skip
    changes = sum(t.added + t.updated + t.removed for t in run.tallies.values())
    return {
        "_estate": run.estate,
        "estate": run.estate.name,
        "headline": _headline(run.tallies, changes),
        "changes": changes,
        "counts": {
            kind: {
                "added": t.added,
                "updated": t.updated,
                "removed": t.removed,
                "unchanged": t.unchanged,
                "kept": t.kept,
            }
            for kind, t in run.tallies.items()
        },  # fmt: skip
        "templates_skipped": run.export.templates_skipped,
        "datacenters": {dc: run.site_of[dc].name for dc in run.export.datacenters},
        "segments_joined": sorted(run.joined),
        "assumptions": {
            "note": "RVTools has no memory dirty rates: new workloads got the default for their role or OS "
            "(inventory.assumptions); workloads already here kept theirs.",
            "applied": dict(sorted(run.assumed.items())),
        },
        "warnings": run.warnings[:50],
        "warning_count": len(run.warnings),
        "tabs": dict(run.export.tab_rows),
    }


def _apply(export: RVToolsExport, site_choices: dict[str, int | None], estate_name: str, progress: ProgressFn) -> dict:
    run = _start(export, estate_name, progress)
    _resolve_sites(run, site_choices)
    _name_clashes(run)
    _doomed_workloads(run)
    if run.problems:
        raise RVToolsRefused(run.problems)
    progress(0.72, "Writing sites, clusters and hosts")
    _write_estate_and_sites(run)  # writes from here on
    write_clusters(run)
    write_hosts(run)
    progress(0.76, "Writing datastores and port groups")
    write_datastores(run)
    write_segments(run)
    progress(0.8, f"Writing {len(export.vms):,} workloads")
    write_workloads(run)
    progress(0.98, "Removing what the export no longer lists")
    _remove_unlisted(run)
    return _summary(run)
