"""Reads of the assessment app: the workloads of a scope, the scenario's defaults, assessments, their rows, charts
and comparisons. Fixed query counts whatever the number of rows."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Avg, Max, QuerySet
from django.http import QueryDict
from django.shortcuts import get_object_or_404

from inventory.filtersets import WorkloadFilterSet
from inventory.models import CloudLink, Cluster, Estate, Site, Workload
from inventory.selectors import link_between
from migration.assessment.choices import MoveMode, ScopeKind
from migration.assessment.models import Assessment, AssessmentRow
from migration.choices import MigrationState
from migration.engine import DEFAULT_DOWNTIME_LIMIT_S
from migration.models import MigrationRound

# The scenario's fields, in the order forms, tables and comparisons show them.
SCENARIO_FIELDS = (
    "bandwidth_mbit", "rtt_ms", "loss_percent", "compression_ratio", "encrypted", "max_concurrent", "max_downtime_s",
    "window_hours", "accept_readdressing",
)  # fmt: skip
# What a real link gives the scenario (the rest has defaults of its own).
LINK_FIELDS = ("bandwidth_mbit", "rtt_ms", "loss_percent", "compression_ratio", "encrypted")
GANTT_MAX_BARS = 400


# -- scope ----------------------------------------------------------------------------------------------------------


def scope_workloads(
    *,
    kind: str,
    site: Site | None = None,
    cluster: Cluster | None = None,
    estate: Estate | None = None,
    query: str = "",
) -> QuerySet[Workload]:
    """The workloads of a scope, in a stable order: a site's, a cluster's, an imported estate's, or those the
    workloads table's filters (its query string, ordering included) select."""
    qs = Workload.objects.all()
    if kind == ScopeKind.SITE:
        return qs.filter(host__cluster__site=site).order_by("name", "pk")
    if kind == ScopeKind.CLUSTER:
        return qs.filter(host__cluster=cluster).order_by("name", "pk")
    if kind == ScopeKind.ESTATE:
        return qs.filter(estate=estate).order_by("name", "pk")
    filterset = WorkloadFilterSet(QueryDict(query), queryset=qs.order_by("name"))
    return filterset.qs


def scope_query_errors(query: str) -> dict[str, str]:
    """The workloads filters' own complaints about a query string (an unknown site id, a bad kind...)."""
    filterset = WorkloadFilterSet(QueryDict(query), queryset=Workload.objects.none())
    if filterset.is_valid():
        return {}
    return {name: " ".join(str(e) for e in errors) for name, errors in filterset.errors.items()}


def scope_label(
    *, kind: str, site: Site | None = None, cluster: Cluster | None = None, estate: Estate | None = None,
    query: str = "",
) -> str:  # fmt: skip
    """What a person calls the scope: "California DC", "cluster sc-prod-a (California DC)", "workloads where …"."""
    if kind == ScopeKind.SITE and site is not None:
        return site.name
    if kind == ScopeKind.ESTATE and estate is not None:
        return f"estate {estate.name}"
    if kind == ScopeKind.CLUSTER and cluster is not None:
        return f"cluster {cluster.name} ({cluster.site.name})"
    data = QueryDict(query)
    parts = []
    for key in ("kind", "site", "host", "power_state", "segment", "q", "search"):
        value = data.get(key)
        if not value:
            continue
        if key == "site" and value.isdigit():
            value = Site.objects.filter(pk=int(value)).values_list("name", flat=True).first() or value
        parts.append(f"{'name or IP' if key in ('q', 'search') else key.replace('_', ' ')} {value}")
    return "workloads where " + ", ".join(parts) if parts else "every workload"


def scope_source_sites(workloads: QuerySet[Workload]) -> list[Site]:
    """The sites the scope's workloads run on (one grouped query)."""
    ids = workloads.order_by().values_list("host__cluster__site", flat=True).distinct()
    return list(Site.objects.filter(pk__in=list(ids)).order_by("name"))


@dataclass
class ScenarioDefaults:
    """The scenario's figures where the user left them out: the real link's, when there is exactly one."""

    values: dict
    note: str
    link: CloudLink | None


def scenario_defaults(*, sources: list[Site], destination: Site) -> ScenarioDefaults:
    """Defaults from the real link between the scope's site and the destination; with several source sites, from
    the link of the first that has one (each source site's moves then get the same scenario)."""
    base = {
        "max_concurrent": 8,
        "max_downtime_s": DEFAULT_DOWNTIME_LIMIT_S,
        "window_hours": None,
        "accept_readdressing": False,
    }
    for source in sources:
        if source.pk == destination.pk:
            continue
        link = link_between(source, destination)
        if link is not None:
            values = base | {field: getattr(link, field) for field in LINK_FIELDS}
            note = f"the link {link.site_a.name} ↔ {link.site_b.name}"
            if len(sources) > 1:
                note += f" (the scope spans {len(sources)} sites: each one's moves get this scenario)"
            return ScenarioDefaults(values, note, link)
    names = ", ".join(s.name for s in sources) or "the scope"
    # A hypothetical link: no loss, no WAN optimiser, encrypted (as a link over someone else's network should be).
    base |= {"loss_percent": 0.0, "compression_ratio": 1.0, "encrypted": True}
    return ScenarioDefaults(base, f"no link exists between {names} and {destination.name}: a hypothetical one", None)


# -- dirty rates measured by the product ----------------------------------------------------------------------------


def measured_dirty_rates(workload_ids: list[int]) -> dict[int, tuple[float, int]]:
    """Each workload's memory dirty rate as its completed migrations measured it (rounds the guest ran
    unthrottled), with the latest such migration's id. One grouped query."""
    rows = (
        MigrationRound.objects.filter(
            migration__workload_id__in=workload_ids, migration__state=MigrationState.COMPLETED, throttle=0
        )
        .order_by()
        .values_list("migration__workload_id")
        .annotate(rate=Avg("dirty_rate_bps"), latest=Max("migration_id"))
    )
    return {workload_id: (float(rate), latest) for workload_id, rate, latest in rows if rate is not None}


# -- assessments ----------------------------------------------------------------------------------------------------


def assessment_list() -> QuerySet[Assessment]:
    """Assessments, newest first, with their destination and author."""
    return Assessment.objects.select_related("destination", "created_by").order_by("-created_at", "-pk")


def assessment_get(pk: int) -> Assessment:
    return get_object_or_404(
        Assessment.objects.select_related(
            "destination", "scope_site", "scope_cluster__site", "scope_estate", "created_by"
        ),
        pk=pk,
    )


def assessment_rows(assessment: Assessment) -> QuerySet[AssessmentRow]:
    return AssessmentRow.objects.filter(assessment=assessment).order_by("order")


def assessment_progress(assessment: Assessment) -> dict:
    return {
        "id": assessment.pk,
        "status": assessment.status,
        "status_label": assessment.get_status_display(),
        "percent": assessment.percent,
        "done": assessment.progress_done,
        "total": assessment.progress_total,
        "error": assessment.error,
    }


def assessment_charts(assessment: Assessment) -> dict:
    """The Gantt chart (at most GANTT_MAX_BARS bars, earliest first), the durations for the histogram and the
    waves, from the rows (one query)."""
    rows = list(
        assessment_rows(assessment)
        .exclude(mode=MoveMode.BLOCKED)
        .values_list(
            "workload_name", "source_site", "wave", "start_s", "end_s", "downtime_s", "converged", "throttle", "limit"
        )
    )
    waves = {(w["group"], w["wave"]): w for w in assessment.summary.get("waves", [])}
    bars = []
    for name, site, wave, start, end, downtime, converged, throttle, limit in rows:
        info = waves.get((site, wave), {})
        offset = info.get("offset_s", 0.0)
        bars.append(
            {"name": name, "site": site, "wave": wave, "start_s": offset + start, "end_s": offset + end,
             "duration_s": end - start, "downtime_s": downtime, "converged": converged, "throttle": throttle,
             "limit": limit}
        )  # fmt: skip
    bars.sort(key=lambda b: (b["start_s"], b["name"]))
    return {
        "bars": bars[:GANTT_MAX_BARS],
        "bars_total": len(bars),
        "durations": [round(b["duration_s"], 2) for b in bars],
        "waves": assessment.summary.get("waves", []),
        "window_s": assessment.window_hours * 3600 if assessment.window_hours else None,
        "makespan_s": assessment.summary.get("makespan_s"),
        "bound_s": assessment.summary.get("physical_bound_s"),
    }


def assessments_for_compare(ids: list[int]) -> list[Assessment]:
    """The assessments to compare, in the order asked (missing ids are left out)."""
    found = {a.pk: a for a in Assessment.objects.filter(pk__in=ids).select_related("destination")}
    return [found[i] for i in ids if i in found]


def compare_table(assessments: list[Assessment]) -> dict:
    """Side by side: the scenario and the results of each assessment, with the durations for overlaid histograms
    (one query for all their rows)."""
    durations: dict[int, list[float]] = defaultdict(list)
    rows = AssessmentRow.objects.filter(assessment__in=assessments, start_s__isnull=False, end_s__isnull=False)
    for assessment_id, start, end in rows.values_list("assessment_id", "start_s", "end_s"):
        durations[assessment_id].append(round(end - start, 2))
    return {
        "series": [
            {"id": a.pk, "label": f"#{a.pk} {a.title}", "durations": durations.get(a.pk, []),
             "makespan_s": a.summary.get("makespan_s"), "bound_s": a.summary.get("physical_bound_s")}
            for a in assessments
        ],
    }  # fmt: skip
