"""Writes of telemetry: one tick of samples, a back-fill of history, and retention (downsampling, deletion)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Avg
from django.db.models.functions import TruncHour
from django.utils import timezone

from inventory.choices import PowerState
from inventory.models import Host, Workload
from migration.capacity import telemetry
from migration.capacity.choices import Scope
from migration.capacity.models import CapacitySettings, UtilisationSample

DEFAULT_INTERVAL_S = 300


@dataclass
class Fleet:
    """What the generator needs about the inventory, read in two queries: workload profiles and host capacities."""

    seed: int
    profiles: list[telemetry.Profile] = field(default_factory=list)
    host_of: list[int] = field(default_factory=list)
    host_cores: dict[int, int] = field(default_factory=dict)
    host_memory: dict[int, float] = field(default_factory=dict)
    site_of_host: dict[int, int] = field(default_factory=dict)


def load_fleet(seed: int, *, site_id: int | None = None) -> Fleet:
    fleet = Fleet(seed=seed)
    hosts = Host.objects.values_list("pk", "cores", "memory_bytes", "cluster__site_id")
    if site_id is not None:
        hosts = hosts.filter(cluster__site_id=site_id)
    for pk, cores, memory, site in hosts:
        fleet.host_cores[pk], fleet.host_memory[pk], fleet.site_of_host[pk] = cores, float(memory), site
    workloads = Workload.objects.filter(power_state=PowerState.ON).values_list(
        "pk", "host_id", "vcpus", "memory_bytes", "host__cluster__site__longitude"
    )
    if site_id is not None:
        workloads = workloads.filter(host__cluster__site_id=site_id)
    for pk, host_id, vcpus, memory, longitude in workloads.order_by("pk"):
        fleet.profiles.append(
            telemetry.profile_for(
                seed=seed, workload_id=pk, host_id=host_id, vcpus=vcpus, memory_bytes=memory, longitude=longitude
            )
        )
        fleet.host_of.append(host_id)
    return fleet


def tick_of(at: datetime, interval_s: int = DEFAULT_INTERVAL_S) -> int:
    return int(at.timestamp() // interval_s)


def fleet_use(fleet: Fleet, at: datetime, tick: int) -> list[tuple[float, float]]:
    """(busy vCPUs, memory in use) of every profile at `at`."""
    t = at.timestamp()
    acts: dict[float, float] = {}
    out = []
    for p in fleet.profiles:
        act = acts.get(p.utc_offset_h)
        if act is None:
            act = acts[p.utc_offset_h] = telemetry.activity(t, p.utc_offset_h)
        out.append(telemetry.use_at(p, fleet.seed, t, tick, act=act))
    return out


def fleet_samples(fleet: Fleet, at: datetime, tick: int, *, workloads: bool) -> list[UtilisationSample]:
    """Samples of every host and site (and workload, when asked) at `at`."""
    use = fleet_use(fleet, at, tick)
    host_cpu: dict[int, float] = defaultdict(float)
    host_mem: dict[int, float] = defaultdict(float)
    rows: list[UtilisationSample] = []
    for p, host_id, (cpu, mem) in zip(fleet.profiles, fleet.host_of, use, strict=True):
        host_cpu[host_id] += cpu
        host_mem[host_id] += mem
        if workloads:
            rows.append(
                UtilisationSample(
                    scope=Scope.WORKLOAD, object_id=p.workload_id, at=at,
                    cpu_pct=telemetry.pct(cpu, p.vcpus), mem_pct=telemetry.pct(mem, p.memory_bytes),
                )
            )  # fmt: skip
    site_cpu: dict[int, float] = defaultdict(float)
    site_mem: dict[int, float] = defaultdict(float)
    site_cores: dict[int, float] = defaultdict(float)
    site_memory: dict[int, float] = defaultdict(float)
    for host_id, cores in fleet.host_cores.items():
        site = fleet.site_of_host[host_id]
        cpu, mem = min(host_cpu[host_id], cores), host_mem[host_id]
        site_cpu[site] += cpu
        site_mem[site] += mem
        site_cores[site] += cores
        site_memory[site] += fleet.host_memory[host_id]
        rows.append(
            UtilisationSample(
                scope=Scope.HOST, object_id=host_id, at=at,
                cpu_pct=telemetry.pct(cpu, cores), mem_pct=telemetry.pct(mem, fleet.host_memory[host_id]),
            )
        )  # fmt: skip
    for site in site_cores:
        rows.append(
            UtilisationSample(
                scope=Scope.SITE, object_id=site, at=at,
                cpu_pct=telemetry.pct(site_cpu[site], site_cores[site]),
                mem_pct=telemetry.pct(site_mem[site], site_memory[site]),
            )
        )  # fmt: skip
    return rows


def _aligned(at: datetime, interval_s: int) -> datetime:
    return datetime.fromtimestamp(tick_of(at, interval_s) * interval_s, tz=UTC)


def sample_tick(*, now: datetime | None = None, interval_s: int = DEFAULT_INTERVAL_S) -> int:
    """Store one tick of samples (the instant is `now` rounded down to the interval). Idempotent: a tick already
    stored is left alone. Returns the number of rows written."""
    config = CapacitySettings.get()
    at = _aligned(now or timezone.now(), interval_s)
    tick = tick_of(at, interval_s)
    fleet = load_fleet(config.seed)
    rows = fleet_samples(fleet, at, tick, workloads=tick % config.workload_sample_every == 0)
    UtilisationSample.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    return len(rows)


def backfill(*, days: float, seed: int | None = None, now: datetime | None = None,
             interval_s: int = DEFAULT_INTERVAL_S) -> int:  # fmt: skip
    """Write `days` of history ending now (the current inventory's workloads on their current hosts). Replaces any
    samples in that span. Returns the number of rows written."""
    config = CapacitySettings.get()
    if seed is not None and seed != config.seed:
        config.seed = seed
        config.full_clean()
        config.save()
    end = _aligned(now or timezone.now(), interval_s)
    start = end - timedelta(days=days)
    fleet = load_fleet(config.seed)
    written = 0
    with transaction.atomic():
        UtilisationSample.objects.filter(at__gt=start, at__lte=end).delete()
        batch: list[UtilisationSample] = []
        at = start + timedelta(seconds=interval_s)
        while at <= end:
            tick = tick_of(at, interval_s)
            batch.extend(fleet_samples(fleet, at, tick, workloads=tick % config.workload_sample_every == 0))
            if len(batch) >= 20_000:
                UtilisationSample.objects.bulk_create(batch, batch_size=5000)
                written += len(batch)
                batch = []
            at += timedelta(seconds=interval_s)
        UtilisationSample.objects.bulk_create(batch, batch_size=5000)
        written += len(batch)
    return written


def apply_retention(*, now: datetime | None = None) -> dict[str, int]:
    """Full resolution for `raw_retention_days`; older samples become hourly means (whole hours only); hourly
    means older than `hourly_retention_days` are deleted. Running it twice changes nothing the second time."""
    config = CapacitySettings.get()
    now = now or timezone.now()
    raw_cutoff = (now - timedelta(days=config.raw_retention_days)).replace(minute=0, second=0, microsecond=0)
    drop_cutoff = now - timedelta(days=config.hourly_retention_days)
    with transaction.atomic():
        deleted, _ = UtilisationSample.objects.filter(at__lt=drop_cutoff).delete()
        old_raw = UtilisationSample.objects.filter(hourly=False, at__lt=raw_cutoff)
        means = (
            old_raw.annotate(hour=TruncHour("at"))
            .order_by()
            .values("scope", "object_id", "hour")
            .annotate(cpu=Avg("cpu_pct"), mem=Avg("mem_pct"))
        )
        hourly = [
            UtilisationSample(
                scope=row["scope"], object_id=row["object_id"], at=row["hour"], hourly=True,
                cpu_pct=round(row["cpu"], 2), mem_pct=round(row["mem"], 2),
            )
            for row in means
        ]  # fmt: skip
        raw_deleted, _ = old_raw.delete()
        UtilisationSample.objects.bulk_create(hourly, batch_size=5000, ignore_conflicts=True)
    return {"downsampled": raw_deleted, "hourly_written": len(hourly), "deleted": deleted}
