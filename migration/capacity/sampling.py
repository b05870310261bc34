"""Writes of telemetry: one tick of samples, a back-fill of history, and retention (downsampling, deletion).

The generator (`migration.capacity.telemetry`) is evaluated for the whole fleet at once with numpy
(`FleetArrays.use`): the same figures as `telemetry.use_at`, to the last bit (tests/capacity compare them), at a
fraction of the cost, so a tick at 10,000 workloads and a week's back-fill take seconds. Rows are written in bulk
without model instances: `COPY` on PostgreSQL, one `executemany` elsewhere.

What is stored is what is read: hosts and sites every tick (the 24-hour charts show 5-minute samples, longer
ranges hourly means, the alarms read the latest minutes), workloads every `workload_sample_every` ticks (hourly)
and only for `workload_retention_days` (no page charts a workload; the API lists them; their sums are the hosts').
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import connection, transaction
from django.db.models import Avg
from django.db.models.functions import TruncHour
from django.utils import timezone

from inventory.choices import PowerState
from inventory.models import Host, Workload
from migration.capacity import telemetry
from migration.capacity.choices import Scope
from migration.capacity.models import CapacitySettings, UtilisationSample
from migration.engine.world import mix

DEFAULT_INTERVAL_S = 300
#: Workload-instants the back-fill evaluates at once (each array of them: 8 bytes apiece; a day of 10,000 workloads
#: at 5 minutes is 2.9 million).
BLOCK_CELLS = 3_000_000

Row = tuple[str, int, datetime, bool, float, float]  # scope, object id, instant, hourly, CPU %, memory %


@dataclass
class Fleet:
    """What the generator needs about the inventory, read in two queries: workload profiles and host capacities."""

    seed: int
    profiles: list[telemetry.Profile] = field(default_factory=list)
    host_of: list[int] = field(default_factory=list)
    host_cores: dict[int, int] = field(default_factory=dict)
    host_memory: dict[int, float] = field(default_factory=dict)
    site_of_host: dict[int, int] = field(default_factory=dict)
    _arrays: FleetArrays | None = None

    @property
    def arrays(self) -> FleetArrays:
        if self._arrays is None:
            self._arrays = FleetArrays.of(self)
        return self._arrays


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


# -- the generator over the whole fleet at once ----------------------------------------------------------------------

_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S27, _S31 = np.uint64(27), np.uint64(31)


def _unit_after(prefix: np.ndarray, value: np.ndarray) -> np.ndarray:
    """`world.unit(*values, v)` for each v, from `prefix` = `world.mix(*values)` (splitmix64's last round, in uint64
    arithmetic that wraps exactly as the pure-Python one masks)."""
    h = (prefix ^ value) * _M1
    h = (h ^ (h >> _S27)) * _M2
    h ^= h >> _S31
    return h.astype(np.float64) / 2.0**64


def _pct(used: np.ndarray, capacity: np.ndarray) -> list[float]:
    """`telemetry.pct` element-wise: the ratio in numpy, the rounding in Python (numpy's rounds differently)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.minimum(100.0, 100.0 * used / capacity)
    ratio = np.where(capacity > 0, ratio, 0.0)
    return [round(x, 2) for x in ratio.ravel().tolist()]


@dataclass
class FleetArrays:
    """The fleet's profiles as columns, and where each workload's and host's load adds up (host and site index)."""

    seed: int
    workload_ids: list[int]
    noise_prefix: np.ndarray
    mem_prefix: np.ndarray
    offsets: list[float]
    group: np.ndarray  # index into offsets, per workload
    cpu_base: np.ndarray
    cpu_swing: np.ndarray
    mem_base: np.ndarray
    mem_swing: np.ndarray
    factor: np.ndarray
    mem_factor: np.ndarray
    vcpus: np.ndarray
    memory: np.ndarray
    host_ids: list[int]
    host_index: np.ndarray  # per workload, its host's index in host_ids
    host_cores: np.ndarray
    host_memory: np.ndarray
    site_ids: list[int]
    site_index: np.ndarray  # per host, its site's index in site_ids
    site_cores: np.ndarray
    site_memory: np.ndarray

    @classmethod
    def of(cls, fleet: Fleet) -> FleetArrays:
        ps = fleet.profiles
        offsets = sorted({p.utc_offset_h for p in ps})
        where = {o: i for i, o in enumerate(offsets)}
        host_ids = list(fleet.host_cores)
        host_pos = {h: i for i, h in enumerate(host_ids)}
        site_ids = list(dict.fromkeys(fleet.site_of_host[h] for h in host_ids))
        site_pos = {s: i for i, s in enumerate(site_ids)}
        site_index = np.array([site_pos[fleet.site_of_host[h]] for h in host_ids], dtype=np.intp)
        host_cores = np.array([float(fleet.host_cores[h]) for h in host_ids])
        host_memory = np.array([fleet.host_memory[h] for h in host_ids])
        col = lambda name: np.array([getattr(p, name) for p in ps], dtype=np.float64)  # noqa: E731
        factor = col("factor")
        # Site sums add hosts in the same order as the pure-Python loop (bincount adds its input in order).
        site_cores = np.bincount(site_index, weights=host_cores, minlength=len(site_ids))
        site_memory = np.bincount(site_index, weights=host_memory, minlength=len(site_ids))
        return cls(
            seed=fleet.seed,
            workload_ids=[p.workload_id for p in ps],
            noise_prefix=np.array([mix(fleet.seed, telemetry.SALT_NOISE, p.workload_id) for p in ps], dtype=np.uint64),
            mem_prefix=np.array([mix(fleet.seed, telemetry.SALT_MEM, p.workload_id) for p in ps], dtype=np.uint64),
            offsets=offsets,
            group=np.array([where[p.utc_offset_h] for p in ps], dtype=np.intp),
            cpu_base=col("cpu_base"), cpu_swing=col("cpu_swing"), mem_base=col("mem_base"),
            mem_swing=col("mem_swing"), factor=factor, mem_factor=1.0 + (factor - 1.0) * 0.4,
            vcpus=col("vcpus"), memory=col("memory_bytes"),
            host_ids=host_ids,
            host_index=np.array([host_pos.get(h, -1) for h in fleet.host_of], dtype=np.intp),
            host_cores=host_cores, host_memory=host_memory,
            site_ids=site_ids, site_index=site_index, site_cores=site_cores, site_memory=site_memory,
        )  # fmt: skip

    def use(self, times: list[float], ticks: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """(busy vCPUs, memory in use), each of shape (instants, workloads): `telemetry.use_at` of every profile at
        every epoch second of `times` (`ticks` key the noise), term by term in the same order."""
        acts = np.array([[telemetry.activity(t, o) for o in self.offsets] for t in times]).reshape(len(times), -1)
        act = acts[:, self.group]
        tick = np.array(ticks, dtype=np.uint64)[:, None]
        noise = _unit_after(self.noise_prefix[None, :], tick) - 0.5
        cpu = (self.cpu_base + self.cpu_swing * act) * self.factor * (1 + 0.35 * noise)
        cpu = np.minimum(1.0, np.maximum(0.01, cpu))
        mem_noise = _unit_after(self.mem_prefix[None, :], tick // np.uint64(6)) - 0.5
        mem = self.mem_base + self.mem_swing * act + 0.04 * mem_noise
        mem = np.minimum(0.98, np.maximum(0.05, mem * self.mem_factor))
        return cpu * self.vcpus, mem * self.memory

    def host_sums(self, values: np.ndarray) -> np.ndarray:
        """Per instant, the sum over each host's workloads (in workload order, as the pure-Python loop adds)."""
        n_hosts, rows = len(self.host_ids), values.shape[0]
        known = self.host_index >= 0
        index = (self.host_index[known][None, :] + n_hosts * np.arange(rows)[:, None]).ravel()
        return np.bincount(index, weights=values[:, known].ravel(), minlength=n_hosts * rows).reshape(rows, n_hosts)

    def site_sums(self, values: np.ndarray) -> np.ndarray:
        n_sites, rows = len(self.site_ids), values.shape[0]
        index = (self.site_index[None, :] + n_sites * np.arange(rows)[:, None]).ravel()
        return np.bincount(index, weights=values.ravel(), minlength=n_sites * rows).reshape(rows, n_sites)


def fleet_use(fleet: Fleet, at: datetime, tick: int) -> list[tuple[float, float]]:
    """(busy vCPUs, memory in use) of every profile at `at`."""
    cpu, mem = fleet.arrays.use([at.timestamp()], [tick])
    return list(zip(cpu[0].tolist(), mem[0].tolist(), strict=True))


def fleet_rows(fleet: Fleet, instants: list[tuple[datetime, int]], *, workloads: Iterable[bool]) -> Iterator[Row]:
    """Sample rows of every host and site at each (instant, tick), and of every workload where `workloads` says."""
    a = fleet.arrays
    cpu, mem = a.use([at.timestamp() for at, _ in instants], [tick for _, tick in instants])
    host_cpu = np.minimum(a.host_sums(cpu), a.host_cores)
    host_mem = a.host_sums(mem)
    site_cpu, site_mem = a.site_sums(host_cpu), a.site_sums(host_mem)
    host_cpu_pct, host_mem_pct = _pct(host_cpu, a.host_cores), _pct(host_mem, a.host_memory)
    site_cpu_pct, site_mem_pct = _pct(site_cpu, a.site_cores), _pct(site_mem, a.site_memory)
    n_h, n_s = len(a.host_ids), len(a.site_ids)
    for k, ((at, _), with_workloads) in enumerate(zip(instants, workloads, strict=True)):
        if with_workloads and a.workload_ids:
            wl_cpu, wl_mem = _pct(cpu[k], a.vcpus), _pct(mem[k], a.memory)
            for i, pk in enumerate(a.workload_ids):
                yield (Scope.WORKLOAD, pk, at, False, wl_cpu[i], wl_mem[i])
        for i, pk in enumerate(a.host_ids):
            yield (Scope.HOST, pk, at, False, host_cpu_pct[k * n_h + i], host_mem_pct[k * n_h + i])
        for i, pk in enumerate(a.site_ids):
            yield (Scope.SITE, pk, at, False, site_cpu_pct[k * n_s + i], site_mem_pct[k * n_s + i])


def fleet_samples(fleet: Fleet, at: datetime, tick: int, *, workloads: bool) -> list[UtilisationSample]:
    """Samples of every host and site (and workload, when asked) at `at`, as unsaved model instances."""
    return [
        UtilisationSample(scope=s, object_id=pk, at=t, hourly=h, cpu_pct=c, mem_pct=m)
        for s, pk, t, h, c, m in fleet_rows(fleet, [(at, tick)], workloads=[workloads])
    ]


# -- bulk writes ----------------------------------------------------------------------------------------------------

_COLUMNS = ("scope", "object_id", "at", "hourly", "cpu_pct", "mem_pct")


def write_rows(rows: Iterable[Row], *, ignore_conflicts: bool = False, batch: int = 50_000) -> int:
    """Insert sample rows without model instances: `COPY` on PostgreSQL (not with `ignore_conflicts`), batches of
    one `executemany` elsewhere. Returns the number of rows given."""
    table = connection.ops.quote_name(UtilisationSample._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(UtilisationSample._meta.get_field(c).column) for c in _COLUMNS)
    written = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and not ignore_conflicts:
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    written += 1
            return written
        # The table and columns are the model's own names, quoted; every value is a parameter.
        sql = f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s, %s)"  # noqa: S608
        if ignore_conflicts:
            sql += " ON CONFLICT DO NOTHING"
        adapt, cache = connection.ops.adapt_datetimefield_value, {}
        chunk: list[tuple] = []
        for scope, pk, at, hourly, cpu, mem in rows:
            when = cache.get(at)
            if when is None:
                when = cache[at] = adapt(at)
            chunk.append((scope, pk, when, hourly, cpu, mem))
            if len(chunk) >= batch:
                cursor.executemany(sql, chunk)
                written += len(chunk)
                chunk = []
        if chunk:
            cursor.executemany(sql, chunk)
            written += len(chunk)
    return written


def _aligned(at: datetime, interval_s: int) -> datetime:
    return datetime.fromtimestamp(tick_of(at, interval_s) * interval_s, tz=UTC)


def _workload_ticks(config: CapacitySettings, tick: int) -> bool:
    return tick % config.workload_sample_every == 0


def sample_tick(*, now: datetime | None = None, interval_s: int = DEFAULT_INTERVAL_S) -> int:
    """Store one tick of samples (the instant is `now` rounded down to the interval). Idempotent: a tick already
    stored is left alone. Returns the number of rows given to the database."""
    config = CapacitySettings.get()
    at = _aligned(now or timezone.now(), interval_s)
    tick = tick_of(at, interval_s)
    fleet = load_fleet(config.seed)
    rows = fleet_rows(fleet, [(at, tick)], workloads=[_workload_ticks(config, tick)])
    return write_rows(rows, ignore_conflicts=True)


def backfill(*, days: float, seed: int | None = None, now: datetime | None = None,
             interval_s: int = DEFAULT_INTERVAL_S) -> int:  # fmt: skip
    """Write `days` of history ending now (the current inventory's workloads on their current hosts): hosts and
    sites every tick, workloads every `workload_sample_every` ticks within the last `workload_retention_days`
    (what the retention keeps). Replaces any samples in that span. Returns the number of rows written."""
    config = CapacitySettings.get()
    if seed is not None and seed != config.seed:
        config.seed = seed
        config.full_clean()
        config.save()
    end = _aligned(now or timezone.now(), interval_s)
    start = end - timedelta(days=days)
    workloads_since = end - timedelta(days=config.workload_retention_days)
    fleet = load_fleet(config.seed)
    instants = []
    at = start + timedelta(seconds=interval_s)
    while at <= end:
        instants.append((at, tick_of(at, interval_s)))
        at += timedelta(seconds=interval_s)
    written = 0
    with transaction.atomic():
        UtilisationSample.objects.filter(at__gt=start, at__lte=end).delete()
        step = max(1, BLOCK_CELLS // max(1, len(fleet.profiles)))
        for first in range(0, len(instants), step):
            block = instants[first : first + step]
            with_workloads = [at > workloads_since and _workload_ticks(config, tick) for at, tick in block]
            written += write_rows(fleet_rows(fleet, block, workloads=with_workloads))
    return written


def apply_retention(*, now: datetime | None = None) -> dict[str, int]:
    """Hosts and sites: full resolution for `raw_retention_days`; older samples become hourly means (whole hours
    only); hourly means older than `hourly_retention_days` are deleted. Workloads: samples older than
    `workload_retention_days` are deleted (their hosts' samples carry their sum). The table's size is therefore
    bounded by the fleet's size. Running it twice changes nothing the second time."""
    config = CapacitySettings.get()
    now = now or timezone.now()
    raw_cutoff = (now - timedelta(days=config.raw_retention_days)).replace(minute=0, second=0, microsecond=0)
    drop_cutoff = now - timedelta(days=config.hourly_retention_days)
    workload_cutoff = now - timedelta(days=config.workload_retention_days)
    with transaction.atomic():
        deleted, _ = UtilisationSample.objects.filter(at__lt=drop_cutoff).delete()
        workloads, _ = UtilisationSample.objects.filter(scope=Scope.WORKLOAD, at__lt=workload_cutoff).delete()
        old_raw = UtilisationSample.objects.filter(hourly=False, at__lt=raw_cutoff).exclude(scope=Scope.WORKLOAD)
        means = (
            old_raw.annotate(hour=TruncHour("at"))
            .order_by()
            .values_list("scope", "object_id", "hour")
            .annotate(cpu=Avg("cpu_pct"), mem=Avg("mem_pct"))
        )
        hourly = [(scope, pk, hour, True, round(cpu, 2), round(mem, 2)) for scope, pk, hour, cpu, mem in means]
        raw_deleted, _ = old_raw.delete()
        write_rows(hourly, ignore_conflicts=True)
    return {"downsampled": raw_deleted, "hourly_written": len(hourly), "deleted": deleted + workloads}
