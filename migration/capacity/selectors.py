"""Reads of the capacity app: chart series, proposals, evacuations and their progress. Fixed query counts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Avg, BigIntegerField, Count, FloatField, Func, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.functional import cached_property

from inventory.models import Host, Site
from migration.capacity.choices import EvacuationState, ItemState, RecommendationState, Scope
from migration.capacity.models import CapacitySettings, Evacuation, Recommendation, UtilisationSample
from migration.choices import MigrationState

RANGES = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}


@dataclass(frozen=True)
class EvacuatingHosts:
    """The hosts running evacuations are emptying: `of()` is a host's own evacuation, else its whole site's (the
    oldest of each). Such a host takes no new workload, or its evacuation would never end."""

    by_host: dict[int, int]
    by_site: dict[int, int]

    def of(self, host_id: int, site_id: int) -> int | None:
        return self.by_host.get(host_id, self.by_site.get(site_id))


def evacuating_hosts() -> EvacuatingHosts:
    """The running evacuations, one query."""
    by_host: dict[int, int] = {}
    by_site: dict[int, int] = {}
    rows = Evacuation.objects.filter(state=EvacuationState.RUNNING).order_by("pk")
    for pk, scope, host_id, site_id in rows.values_list("pk", "scope", "host_id", "site_id"):
        if scope == Scope.HOST and host_id is not None:
            by_host.setdefault(host_id, pk)
        elif scope == Scope.SITE:
            by_site.setdefault(site_id, pk)
    return EvacuatingHosts(by_host, by_site)


def evacuation_host_refusal() -> Callable[[Host], str | None]:
    """The pre-checks' host refusal that capacity registers (`register_host_refusal`): read once per pre-check
    context, it refuses a host being evacuated."""
    evacuating = evacuating_hosts()

    def refuse(host: Host) -> str | None:
        pk = evacuating.of(host.pk, host.cluster.site_id)
        if pk is None:
            return None
        return f"Host {host.name} is being evacuated (evacuation #{pk}); it takes no new workloads."

    return refuse


def chart_range(key: str | None) -> tuple[str, timedelta]:
    key = key if key in RANGES else "24h"
    return key, RANGES[key]


class EpochBucket(Func):
    """The start of the `seconds`-long bucket a datetime falls in, as Unix seconds, computed by the database
    (SQLite and PostgreSQL): charts group and average there instead of reading every sample into Python."""

    output_field = BigIntegerField()

    def __init__(self, expression, seconds: int) -> None:
        super().__init__(expression)
        self.seconds = int(seconds)

    @cached_property
    def convert_value(self):
        return self._convert_value_noop  # both databases return an integer: no int() per row (70,000 a page)

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        epoch = f"CAST(strftime('%%s', {sql}) AS INTEGER)"  # whole seconds, floored; %% as params follow
        return f"(({epoch} / {self.seconds}) * {self.seconds})", params

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(FLOOR(EXTRACT(EPOCH FROM {sql}) / {self.seconds}) * {self.seconds})::bigint", params


class Percent(Func):
    """A percentage rounded to 0.1 by the database (PostgreSQL rounds a float through numeric)."""

    output_field = FloatField()

    @cached_property
    def convert_value(self):
        return self._convert_value_noop  # a float already

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"ROUND({sql}, 1)", params

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"ROUND(({sql})::numeric, 1)::float8", params


SAMPLE_SECONDS = 300  # hosts and sites are sampled every 5 minutes


def _series(scope: str, ids: list[int], since, seconds: int) -> dict[int, list[tuple[str, float, float]]]:
    """Each object's mean CPU and memory per bucket of `seconds` since `since`: [(bucket start ISO, cpu, mem)], in
    time order, means rounded to 0.1 %; a bucket without samples is absent. One query. Buckets longer than the
    sampling interval are averaged by the database (GROUP BY); 5-minute buckets hold about one sample each, so their
    rows come as they are (grouping 70,000 of them cost more than it saved) and the rare extra sample in a bucket is
    averaged in here."""
    qs = UtilisationSample.objects.filter(scope=scope, object_id__in=ids, at__gte=since).annotate(
        bucket=EpochBucket("at", seconds)
    )
    if seconds > SAMPLE_SECONDS:
        qs = qs.values("object_id", "bucket").annotate(cpu=Percent(Avg("cpu_pct")), mem=Percent(Avg("mem_pct")))
        qs = qs.order_by("object_id", "bucket")
    else:
        qs = qs.annotate(cpu=Percent("cpu_pct"), mem=Percent("mem_pct")).order_by("object_id", "at")
    rows: dict[int, list] = defaultdict(list)
    labels: dict[int, str] = {}
    merged: dict[tuple[int, int], list[float]] = {}  # (object, bucket) with more than one raw sample: their sums
    last = None
    for object_id, bucket, cpu, mem in qs.values_list("object_id", "bucket", "cpu", "mem"):
        if (object_id, bucket) == last:
            sums = merged.setdefault(last, [rows[object_id][-1][1], rows[object_id][-1][2], 1])
            sums[0], sums[1], sums[2] = sums[0] + cpu, sums[1] + mem, sums[2] + 1
            rows[object_id][-1] = (rows[object_id][-1][0], round(sums[0] / sums[2], 1), round(sums[1] / sums[2], 1))
            continue
        last = (object_id, bucket)
        if (label := labels.get(bucket)) is None:
            label = labels[bucket] = datetime.fromtimestamp(bucket, tz=UTC).isoformat()
        rows[object_id].append((label, cpu, mem))
    return rows


def overview_charts(range_key: str | None) -> dict:
    """The heat map of hosts × time and each site's CPU and memory over time, with the thresholds."""
    key, span = chart_range(range_key)
    since = timezone.now() - span
    bucket = 300 if key == "24h" else 3600
    config = CapacitySettings.get()
    sites = list(Site.objects.order_by("name"))
    site_rows = _series(Scope.SITE, [s.pk for s in sites], since, bucket)
    return {
        "range": key,
        "threshold_cpu": config.threshold_cpu_pct,
        "threshold_mem": config.threshold_mem_pct,
        "heatmap": host_heatmap(since, bucket),
        "sites": [{"name": s.name, "kind": s.kind, "points": site_rows.get(s.pk, [])} for s in sites],
    }


def host_heatmap(since, bucket: int) -> dict:
    """Hosts × time: each host's CPU and memory use per bucket of `bucket` seconds since `since` (two queries)."""
    hosts = list(Host.objects.select_related("cluster__site").order_by("cluster__site__name", "name"))
    host_rows = _series(Scope.HOST, [h.pk for h in hosts], since, bucket)
    bucketed = {h.pk: host_rows.get(h.pk, []) for h in hosts}
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
    points = _series(Scope.HOST, [host.pk], since, 300 if key == "24h" else 3600).get(host.pk, [])
    return {
        "range": key,
        "name": host.name,
        "threshold_cpu": config.threshold_cpu_pct,
        "threshold_mem": config.threshold_mem_pct,
        "points": points,
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


def recommendation_list(state: str = RecommendationState.OPEN) -> QuerySet[Recommendation]:
    """Recommendations in `state`, newest first, with their move count."""
    return (
        Recommendation.objects.filter(state=state)
        .select_related("site", "host")
        .annotate(move_count=Count("moves"))
        .order_by("-created_at", "-pk")
    )


def recommendation_get(pk: int) -> Recommendation:
    return get_object_or_404(
        Recommendation.objects.select_related("site", "host", "decided_by").prefetch_related(
            "moves__workload", "moves__source_host", "moves__destination_host__cluster__site", "moves__migration"
        ),
        pk=pk,
    )


def evacuation_list() -> QuerySet[Evacuation]:
    """Evacuations, newest first."""
    return Evacuation.objects.select_related("host", "site", "destination_site", "created_by").order_by(
        "-created_at", "-pk"
    )


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
