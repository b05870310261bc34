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

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice, repeat

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
    """What the generator needs about the inventory, read in two queries: workload profiles (as columns, see
    `FleetArrays`) and host capacities."""

    seed: int
    arrays: FleetArrays
    host_of: list[int] = field(default_factory=list)
    host_cores: dict[int, int] = field(default_factory=dict)
    host_memory: dict[int, float] = field(default_factory=dict)
    site_of_host: dict[int, int] = field(default_factory=dict)
    _profiles: list[telemetry.Profile] | None = None

    @property
    def profiles(self) -> list[telemetry.Profile]:
        """The profiles one by one (`telemetry.profile_for`, in workload id order), made on first access."""
        if self._profiles is None:
            self._profiles = [
                telemetry.profile_for(seed=self.seed, workload_id=pk, host_id=host, vcpus=int(vcpus),
                                      memory_bytes=memory, longitude=longitude)
                for pk, host, vcpus, memory, longitude in zip(
                    self.arrays.workload_ids, self.host_of, self.arrays.vcpus.tolist(), self.arrays.memory.tolist(),
                    self.arrays.longitudes, strict=True)
            ]  # fmt: skip
        return self._profiles


def load_fleet(seed: int, *, site_id: int | None = None) -> Fleet:
    hosts = Host.objects.values_list("pk", "cores", "memory_bytes", "cluster__site_id")
    if site_id is not None:
        hosts = hosts.filter(cluster__site_id=site_id)
    host_cores, host_memory, site_of_host = {}, {}, {}
    for pk, cores, memory, site in hosts:
        host_cores[pk], host_memory[pk], site_of_host[pk] = cores, float(memory), site
    workloads = Workload.objects.filter(power_state=PowerState.ON).values_list(
        "pk", "host_id", "vcpus", "memory_bytes", "host__cluster__site__longitude"
    )
    if site_id is not None:
        workloads = workloads.filter(host__cluster__site_id=site_id)
    rows = list(workloads.order_by("pk"))
    host_of = [r[1] for r in rows]
    arrays = FleetArrays.of(seed, rows, host_cores, host_memory, site_of_host)
    return Fleet(seed, arrays, host_of, host_cores, host_memory, site_of_host)


def tick_of(at: datetime, interval_s: int = DEFAULT_INTERVAL_S) -> int:
    return int(at.timestamp() // interval_s)


# -- the generator over the whole fleet at once ----------------------------------------------------------------------

_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S27, _S31 = np.uint64(27), np.uint64(31)


def _mixed(prefix: np.ndarray | int, *values: np.ndarray) -> np.ndarray:
    """`world.mix(*known, *values)` element-wise, from `prefix` = `world.mix(*known)`: splitmix64's rounds in
    uint64 arithmetic, which wraps exactly as the pure-Python one masks."""
    h = np.asarray(prefix, dtype=np.uint64)
    for v in values:
        h = (h ^ v) * _M1
        h = (h ^ (h >> _S27)) * _M2
        h = h ^ (h >> _S31)
    return h


def _unit(h: np.ndarray) -> np.ndarray:
    """`world.unit`: the hash over 2**64 (uint64 to float64 rounds to nearest, as Python's int / int does)."""
    return h.astype(np.float64) / 2.0**64


def _round2(values: np.ndarray) -> list[float]:
    """Python's `round(x, 2)` element-wise. rint(100 x) / 100 is the same double unless 100 x lies next to a half
    (where the float product may round across it): those few are rounded by Python itself."""
    scaled = values * 100.0
    out = np.rint(scaled) / 100.0
    near = np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6
    if near.any():
        for i in np.flatnonzero(near).tolist():
            out[i] = round(float(values[i]), 2)
    return out.tolist()


def _pct(used: np.ndarray, capacity: np.ndarray) -> list[float]:
    """`telemetry.pct` element-wise, flattened."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.minimum(100.0, 100.0 * used / capacity)
    return _round2(np.where(capacity > 0, ratio, 0.0).ravel())


def _pct_array(used: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    return np.array(_pct(used, capacity)).reshape(used.shape)


@dataclass
class FleetArrays:
    """The fleet's profiles as columns (`telemetry.profile_for`, vectorised), and where each workload's and host's
    load adds up (host and site index)."""

    seed: int
    workload_ids: list[int]
    longitudes: list[float]
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
    host_index: np.ndarray  # per workload, its host's index in host_ids (-1: not in the fleet's hosts)
    host_cores: np.ndarray
    host_memory: np.ndarray
    site_ids: list[int]
    site_index: np.ndarray  # per host, its site's index in site_ids
    site_cores: np.ndarray
    site_memory: np.ndarray

    @classmethod
    def of(cls, seed: int, rows: list[tuple], host_cores: dict, host_memory: dict, site_of_host: dict) -> FleetArrays:
        """From (workload id, host id, vCPUs, memory, site longitude) rows in id order and the hosts' facts."""
        ids = [r[0] for r in rows]
        wid = np.array(ids, dtype=np.uint64)
        host_col = np.array([r[1] for r in rows], dtype=np.uint64)
        longitudes = [r[4] for r in rows]
        offset = np.array(longitudes, dtype=np.float64) / 15.0
        profile = mix(seed, telemetry.SALT_PROFILE)
        a, b, c, d = (_unit(_mixed(profile, wid, np.uint64(k))) for k in range(4))
        runaway = _unit(_mixed(profile, wid, np.uint64(9))) < telemetry.RUNAWAY_SHARE
        hot = _unit(_mixed(mix(seed, telemetry.SALT_HOST), host_col)) < telemetry.HOT_HOST_SHARE
        factor = np.where(hot, telemetry.HOT_HOST_FACTOR, 1.0) * np.where(runaway, 1.6, 1.0)
        offsets = sorted(set(offset.tolist()))
        host_ids = list(host_cores)
        host_pos = {h: i for i, h in enumerate(host_ids)}
        site_ids = list(dict.fromkeys(site_of_host[h] for h in host_ids))
        site_pos = {s: i for i, s in enumerate(site_ids)}
        site_index = np.array([site_pos[site_of_host[h]] for h in host_ids], dtype=np.intp)
        cores = np.array([float(host_cores[h]) for h in host_ids])
        memory = np.array([host_memory[h] for h in host_ids])
        # Site sums add hosts in the same order as the pure-Python loop (bincount adds its input in order).
        return cls(
            seed=seed, workload_ids=ids, longitudes=longitudes,
            noise_prefix=_mixed(mix(seed, telemetry.SALT_NOISE), wid),
            mem_prefix=_mixed(mix(seed, telemetry.SALT_MEM), wid),
            offsets=offsets, group=np.searchsorted(np.array(offsets), offset),
            cpu_base=0.08 + 0.12 * a, cpu_swing=0.12 + 0.30 * b, mem_base=0.55 + 0.25 * c, mem_swing=0.04 + 0.12 * d,
            factor=factor, mem_factor=1.0 + (factor - 1.0) * 0.4,
            vcpus=np.array([r[2] for r in rows], dtype=np.float64),
            memory=np.array([r[3] for r in rows], dtype=np.float64),
            host_ids=host_ids,
            host_index=np.array([host_pos.get(r[1], -1) for r in rows], dtype=np.intp),
            host_cores=cores, host_memory=memory, site_ids=site_ids, site_index=site_index,
            site_cores=np.bincount(site_index, weights=cores, minlength=len(site_ids)),
            site_memory=np.bincount(site_index, weights=memory, minlength=len(site_ids)),
        )  # fmt: skip

    def use(self, times: list[float], ticks: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """(busy vCPUs, memory in use), each of shape (instants, workloads): `telemetry.use_at` of every profile at
        every epoch second of `times` (`ticks` key the noise), term by term in the same order."""
        acts = np.array([[telemetry.activity(t, o) for o in self.offsets] for t in times]).reshape(len(times), -1)
        act = acts[:, self.group]
        tick = np.array(ticks, dtype=np.uint64)[:, None]
        noise = _unit(_mixed(self.noise_prefix[None, :], tick)) - 0.5
        cpu = (self.cpu_base + self.cpu_swing * act) * self.factor * (1 + 0.35 * noise)
        cpu = np.minimum(1.0, np.maximum(0.01, cpu))
        mem_noise = _unit(_mixed(self.mem_prefix[None, :], tick // np.uint64(6))) - 0.5
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


def db_instant(at: datetime):
    """An instant as the database driver takes it in a bulk write (SQLite: Django's text form)."""
    return at if connection.vendor == "postgresql" else connection.ops.adapt_datetimefield_value(at)


def fleet_rows(fleet: Fleet, instants: list[tuple[datetime, int]], *, workloads: Iterable[bool],
               stored=lambda at: at) -> Iterator[Row]:  # fmt: skip
    """Sample rows of every host and site at each (instant, tick), and of every workload where `workloads` says;
    each row's instant as `stored(at)` gives it (`db_instant` for `write_rows`)."""
    a = fleet.arrays
    cpu, mem = a.use([at.timestamp() for at, _ in instants], [tick for _, tick in instants])
    host_cpu = np.minimum(a.host_sums(cpu), a.host_cores)
    host_mem = a.host_sums(mem)
    site_cpu, site_mem = a.site_sums(host_cpu), a.site_sums(host_mem)
    host_cpu_pct, host_mem_pct = _pct(host_cpu, a.host_cores), _pct(host_mem, a.host_memory)
    site_cpu_pct, site_mem_pct = _pct(site_cpu, a.site_cores), _pct(site_mem, a.site_memory)
    n_h, n_s = len(a.host_ids), len(a.site_ids)
    for k, ((at, _), with_workloads) in enumerate(zip(instants, workloads, strict=True)):
        when = stored(at)
        if with_workloads and a.workload_ids:
            wl_cpu, wl_mem = _pct(cpu[k], a.vcpus), _pct(mem[k], a.memory)
            yield from zip(repeat(Scope.WORKLOAD), a.workload_ids, repeat(when), repeat(False), wl_cpu, wl_mem)
        yield from zip(repeat(Scope.HOST), a.host_ids, repeat(when), repeat(False),
                       host_cpu_pct[k * n_h:(k + 1) * n_h], host_mem_pct[k * n_h:(k + 1) * n_h])  # fmt: skip
        yield from zip(repeat(Scope.SITE), a.site_ids, repeat(when), repeat(False),
                       site_cpu_pct[k * n_s:(k + 1) * n_s], site_mem_pct[k * n_s:(k + 1) * n_s])  # fmt: skip


def fleet_hourly_rows(fleet: Fleet, hours: list[list[tuple[datetime, int]]], *, stored=lambda at: at) -> Iterator[Row]:
    """Hourly means of every host's and site's samples, one row per hour of `hours` (each the (instant, tick) pairs
    of one hour): the rows `apply_retention` would leave of those samples (the mean of the stored percentages,
    rounded), without storing the samples first."""
    a = fleet.arrays
    instants = [i for hour in hours for i in hour]
    cpu, mem = a.use([at.timestamp() for at, _ in instants], [tick for _, tick in instants])
    host_cpu = np.minimum(a.host_sums(cpu), a.host_cores)
    host_mem = a.host_sums(mem)
    site_cpu, site_mem = a.site_sums(host_cpu), a.site_sums(host_mem)
    starts = np.cumsum([0] + [len(h) for h in hours[:-1]])
    counts = np.array([len(h) for h in hours], dtype=np.float64)[:, None]
    for scope, ids, values in (
        (Scope.HOST, a.host_ids, (_pct_array(host_cpu, a.host_cores), _pct_array(host_mem, a.host_memory))),
        (Scope.SITE, a.site_ids, (_pct_array(site_cpu, a.site_cores), _pct_array(site_mem, a.site_memory))),
    ):
        cpu_mean, mem_mean = (np.add.reduceat(v, starts, axis=0) / counts for v in values)
        n = len(ids)
        cpu_mean, mem_mean = _round2(cpu_mean.ravel()), _round2(mem_mean.ravel())
        for k, hour in enumerate(hours):
            when = stored(hour[0][0].replace(minute=0, second=0, microsecond=0))
            yield from zip(repeat(scope), ids, repeat(when), repeat(True),
                           cpu_mean[k * n:(k + 1) * n], mem_mean[k * n:(k + 1) * n])  # fmt: skip


def fleet_samples(fleet: Fleet, at: datetime, tick: int, *, workloads: bool) -> list[UtilisationSample]:
    """Samples of every host and site (and workload, when asked) at `at`, as unsaved model instances."""
    return [
        UtilisationSample(scope=s, object_id=pk, at=t, hourly=h, cpu_pct=c, mem_pct=m)
        for s, pk, t, h, c, m in fleet_rows(fleet, [(at, tick)], workloads=[workloads])
    ]


# -- bulk writes ----------------------------------------------------------------------------------------------------

_COLUMNS = ("scope", "object_id", "at", "hourly", "cpu_pct", "mem_pct")


def write_rows(rows: Iterable[Row], *, ignore_conflicts: bool = False, batch: int = 50_000) -> int:
    """Insert sample rows (instants as `db_instant` gives them) without model instances, in one transaction:
    `COPY` on PostgreSQL (not with `ignore_conflicts`), batches of one `executemany` elsewhere. Returns the number
    of rows given."""
    table = connection.ops.quote_name(UtilisationSample._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(UtilisationSample._meta.get_field(c).column) for c in _COLUMNS)
    written = 0
    with transaction.atomic(), connection.cursor() as cursor:
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
        rows = iter(rows)
        while chunk := list(islice(rows, batch)):
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
    rows = fleet_rows(fleet, [(at, tick)], workloads=[_workload_ticks(config, tick)], stored=db_instant)
    return write_rows(rows, ignore_conflicts=True)


def backfill(*, days: float, seed: int | None = None, now: datetime | None = None,
             interval_s: int = DEFAULT_INTERVAL_S) -> int:  # fmt: skip
    """Write `days` of history ending now (the current inventory's workloads on their current hosts), as the
    sampler and the retention would have left it: hosts and sites every tick for the raw retention, hourly means
    before; workloads every `workload_sample_every` ticks within the workload retention. Replaces any samples in
    that span. Returns the number of rows written."""
    config = CapacitySettings.get()
    if seed is not None and seed != config.seed:
        config.seed = seed
        config.full_clean()
        config.save()
    end = _aligned(now or timezone.now(), interval_s)
    start = end - timedelta(days=days)
    raw_since = (end - timedelta(days=config.raw_retention_days)).replace(minute=0, second=0, microsecond=0)
    workloads_since = end - timedelta(days=config.workload_retention_days)
    fleet = load_fleet(config.seed)
    raw, hours = [], defaultdict(list)
    at = start + timedelta(seconds=interval_s)
    while at <= end:
        if at >= raw_since:
            raw.append((at, tick_of(at, interval_s)))
        else:
            hours[at.replace(minute=0, second=0, microsecond=0)].append((at, tick_of(at, interval_s)))
        at += timedelta(seconds=interval_s)
    written = 0
    step = max(1, BLOCK_CELLS // max(1, len(fleet.host_of)))
    with transaction.atomic():
        UtilisationSample.objects.filter(at__gt=start, at__lte=end).delete()
        if hours:  # the first hour may be partial: its mean is over the samples it has, as the retention's is
            UtilisationSample.objects.filter(at=min(hours), hourly=True).delete()
        grouped = [hours[h] for h in sorted(hours)]
        per_block = max(1, step // 12)
        for first in range(0, len(grouped), per_block):
            written += write_rows(fleet_hourly_rows(fleet, grouped[first : first + per_block], stored=db_instant))
        for first in range(0, len(raw), step):
            block = raw[first : first + step]
            with_workloads = [at > workloads_since and _workload_ticks(config, tick) for at, tick in block]
            written += write_rows(fleet_rows(fleet, block, workloads=with_workloads, stored=db_instant))
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
        hourly = [
            (scope, pk, db_instant(hour), True, round(cpu, 2), round(mem, 2)) for scope, pk, hour, cpu, mem in means
        ]
        raw_deleted, _ = old_raw.delete()
        write_rows(hourly, ignore_conflicts=True)
    return {"downsampled": raw_deleted, "hourly_written": len(hourly), "deleted": deleted + workloads}
