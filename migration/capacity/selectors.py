"""Reads of the capacity app: chart series, proposals, evacuations and their progress. Fixed query counts."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from django.shortcuts import get_object_or_404
from django.utils import timezone

from inventory.models import Host, Site
from migration.capacity.choices import ItemState, RecommendationState, Scope
from migration.capacity.models import CapacitySettings, Evacuation, Recommendation, UtilisationSample
from migration.choices import MigrationState

RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


def chart_range(key: str | None) -> tuple[str, timedelta]:
    key = key if key in RANGES else "24h"
    return key, RANGES[key]


def _bucket(rows, seconds: int):
    """Mean of (at, cpu, mem) rows per bucket of `seconds` (hourly beyond a day keeps charts light)."""
    if seconds <= 300:
        return [(at.isoformat(), cpu, mem) for at, cpu, mem in rows]
    sums: dict = defaultdict(lambda: [0.0, 0.0, 0])
    for at, cpu, mem in rows:
        key = int(at.timestamp() // seconds) * seconds
        s = sums[key]
        s[0] += cpu
        s[1] += mem
        s[2] += 1
    out = []
    for key in sorted(sums):
        cpu, mem, n = sums[key]
        at = datetime.fromtimestamp(key, tz=UTC)
        out.append((at.isoformat(), round(cpu / n, 1), round(mem / n, 1)))
    return out


def _series(scope: str, ids: list[int], since) -> dict[int, list]:
    rows = defaultdict(list)
    qs = (
        UtilisationSample.objects.filter(scope=scope, object_id__in=ids, at__gte=since)
        .order_by("object_id", "at")
        .values_list("object_id", "at", "cpu_pct", "mem_pct")
    )
    for object_id, at, cpu, mem in qs:
        rows[object_id].append((at, cpu, mem))
    return rows


def overview_charts(range_key: str | None) -> dict:
    """The heat map of hosts × time and each site's CPU and memory over time, with the thresholds."""
    key, span = chart_range(range_key)
    since = timezone.now() - span
    bucket = 300 if key == "24h" else 3600
    config = CapacitySettings.get()
    sites = list(Site.objects.order_by("name"))
    site_rows = _series(Scope.SITE, [s.pk for s in sites], since)
    return {
        "range": key,
        "threshold_cpu": config.threshold_cpu_pct,
        "threshold_mem": config.threshold_mem_pct,
        "heatmap": host_heatmap(since, bucket),
        "sites": [{"name": s.name, "kind": s.kind, "points": _bucket(site_rows.get(s.pk, []), bucket)} for s in sites],
    }


def host_heatmap(since, bucket: int) -> dict:
    """Hosts × time: each host's CPU and memory use per bucket of `bucket` seconds since `since` (two queries)."""
    hosts = list(Host.objects.select_related("cluster__site").order_by("cluster__site__name", "name"))
    host_rows = _series(Scope.HOST, [h.pk for h in hosts], since)
    bucketed = {h.pk: _bucket(host_rows.get(h.pk, []), bucket) for h in hosts}
    times = sorted({t for rows in bucketed.values() for t, _, _ in rows})
    index = {t: i for i, t in enumerate(times)}
    z_cpu, z_mem = [], []
    for h in hosts:
        cpu_row, mem_row = [None] * len(times), [None] * len(times)
        for t, cpu, mem in bucketed[h.pk]:
            cpu_row[index[t]], mem_row[index[t]] = cpu, mem
        z_cpu.append(cpu_row)
        z_mem.append(mem_row)
    return {
        "hosts": [f"{h.name} · {h.cluster.site.name}" for h in hosts],
        "host_urls": [f"/capacity/hosts/{h.pk}/" for h in hosts],
        "times": times,
        "cpu": z_cpu,
        "mem": z_mem,
    }


def host_chart(host: Host, range_key: str | None) -> dict:
    key, span = chart_range(range_key)
    since = timezone.now() - span
    config = CapacitySettings.get()
    rows = _series(Scope.HOST, [host.pk], since).get(host.pk, [])
    return {
        "range": key,
        "name": host.name,
        "threshold_cpu": config.threshold_cpu_pct,
        "threshold_mem": config.threshold_mem_pct,
        "points": _bucket(rows, 300 if key == "24h" else 3600),
    }


def latest_host_load() -> dict[int, tuple[float, float]]:
    """Each host's most recent sample (one query over the last hour)."""
    out = {}
    since = timezone.now() - timedelta(hours=1)
    for object_id, cpu, mem in (
        UtilisationSample.objects.filter(scope=Scope.HOST, at__gte=since)
        .order_by("object_id", "at")
        .values_list("object_id", "cpu_pct", "mem_pct")
    ):
        out[object_id] = (cpu, mem)
    return out


def recommendation_list(state: str = RecommendationState.OPEN, limit: int = 50) -> list[Recommendation]:
    return list(
        Recommendation.objects.filter(state=state)
        .select_related("site", "host")
        .prefetch_related("moves")
        .order_by("-created_at")[:limit]
    )


def recommendation_get(pk: int) -> Recommendation:
    return get_object_or_404(
        Recommendation.objects.select_related("site", "host", "decided_by").prefetch_related(
            "moves__workload", "moves__source_host", "moves__destination_host__cluster__site", "moves__migration"
        ),
        pk=pk,
    )


def evacuation_list(limit: int = 20) -> list[Evacuation]:
    return list(Evacuation.objects.select_related("host", "site", "destination_site", "created_by")[:limit])


def evacuation_get(pk: int) -> Evacuation:
    return get_object_or_404(Evacuation.objects.select_related("host", "site", "destination_site", "created_by"), pk=pk)


def evacuation_progress(evacuation: Evacuation) -> dict:
    """Overall and per-workload progress, in two queries (the evacuation, then its items with their migrations)."""
    items = list(
        evacuation.items.select_related(
            "workload", "source_host", "destination_host__cluster__site", "migration"
        ).order_by("order")
    )
    rows = []
    total = 0.0
    movable = 0
    for item in items:
        m = item.migration
        if item.state == ItemState.MOVED:
            percent = 100.0
        elif item.state == ItemState.MIGRATING and m is not None:
            percent = m.percent
        else:
            percent = 0.0
        if item.state != ItemState.BLOCKED:
            movable += 1
            total += percent
        rows.append(
            {
                "id": item.pk,
                "workload": item.workload.name,
                "workload_url": item.workload.get_absolute_url(),
                "source": item.source_host.name,
                "destination": item.destination_host.name if item.destination_host_id else None,
                "destination_site": item.destination_host.cluster.site.name if item.destination_host_id else None,
                "state": item.state,
                "state_label": ItemState(item.state).label,
                "colour": item.state_colour,
                "percent": percent,
                "phase": m.get_state_display() if m is not None else "",
                "queued": bool(m is not None and m.state == MigrationState.QUEUED),
                "migration_url": m.get_absolute_url() if m is not None else None,
                "reason": item.reason,
                "warnings": item.warnings,
                "predicted_start_s": item.predicted_start_s,
                "predicted_end_s": item.predicted_end_s,
                "predicted_downtime_s": item.predicted_downtime_s,
                "over_window": item.over_window,
            }
        )
    counts = defaultdict(int)
    for item in items:
        counts[item.state] += 1
    return {
        "id": evacuation.pk,
        "state": evacuation.state,
        "state_label": evacuation.get_state_display(),
        "colour": evacuation.state_colour,
        "message": evacuation.message,
        "percent": round(total / movable, 1) if movable else 100.0,
        "counts": dict(counts),
        "total": len(items),
        "makespan_s": (evacuation.prediction or {}).get("makespan_s"),
        "items": rows,
    }


def overview_hot_hosts(limit: int = 5) -> dict:
    """For the overview card: how many hosts are above a threshold in their latest sample, and the hottest few.

    Five queries (settings, the last hour's host samples, the hosts; for the last day's heat map, hosts and
    samples). Template: templates/capacity/_overview_card.html
    (expects `capacity_card`)."""
    config = CapacitySettings.get()
    load = latest_host_load()
    hosts = Host.objects.filter(pk__in=list(load)).select_related("cluster__site").only("name", "cluster__site__name")
    rows = []
    for host in hosts:
        cpu, mem = load[host.pk]
        rows.append(
            {
                "name": host.name,
                "site": host.cluster.site.name,
                "url": f"/capacity/hosts/{host.pk}/",
                "cpu_pct": round(cpu, 1),
                "mem_pct": round(mem, 1),
                "peak_pct": round(max(cpu, mem), 1),
                "above": cpu > config.threshold_cpu_pct or mem > config.threshold_mem_pct,
            }
        )
    rows.sort(key=lambda r: (-r["peak_pct"], r["name"]))
    return {
        "heatmap": {
            **host_heatmap(timezone.now() - timedelta(hours=24), 3600),
            "threshold_cpu": config.threshold_cpu_pct,
        },
        "sampled": bool(rows),
        "above": sum(r["above"] for r in rows),
        "hosts": len(rows),
        "hottest": rows[:limit],
        "threshold_cpu": config.threshold_cpu_pct,
        "threshold_mem": config.threshold_mem_pct,
    }
