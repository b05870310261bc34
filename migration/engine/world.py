"""The world migrations run in: dirty rates and link traffic that vary, and what an operator can know of them.

Pure Python, deterministic for a seed. Everything is a function of (seed, identity, absolute time): the same
workload at the same epoch second always dirties memory at the same rate, whoever asks (the driver running a
migration, the pre-checks reading the recent past, the bench), so a run is reproducible from the workload's or
link's id and the migration's start time alone.

The generator (:func:`mix`, :func:`unit`, :func:`activity`) is the one the capacity telemetry draws CPU and
memory from (``migration.capacity.telemetry`` calls it); here it also draws:

- **a workload's dirty rate** (:class:`DirtyPattern`): the inventory's ``dirty_rate_bps`` is its rate at its busy
  hour; it follows the business day of the workload's site (:func:`activity`), down to ``quiet`` of it at night,
  with per-minute noise (part of it correlated over five minutes) and **bursts**: in each ten-minute window, with
  some chance, a burst of 2-5 minutes multiplies the rate (a batch job, a cache refill, a report);
- **a link's background traffic** (:class:`LinkPattern`): the fraction of the link other traffic takes (a base,
  a business-hours swing, a nightly backup window on some links, noise, bursts of replication or users), so the
  link capacity available to migrations is ``bandwidth x (1 - background)``.

Both are piecewise constant over one-minute slots (``SLOT_S``), so the time-average over any interval is exact.

Running a migration through the world (:func:`advance_in_world`, :func:`run_in_world`) steps the engine's
:class:`~migration.engine.PrecopySimulation` slot by slot and round by round: every pre-copy round is charged the
mean of the guest's real dirty rate over that round, and the link's share is re-computed at every slot. The driver
and the bench call the same function, so what the bench measures is what the product runs.

A prediction (:func:`forecast_precopy`) may only use the past: the means over the most recent window (as long as
the migration is expected to last) are the best estimate, and the range (p10-p90) comes from how wrong that same
estimate would have been at earlier start times (the last hours, and the same hours yesterday): an empirical,
per-workload and per-link error distribution, not a guessed margin.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from .params import PrecopyParams
from .precopy import PrecopySimulation
from .results import Event, PrecopyResult
from .wave import fair_shares

MASK = (1 << 64) - 1
#: The world is piecewise constant over slots of this many seconds.
SLOT_S = 60.0
#: Bursts are drawn per window of this many slots.
BURST_WINDOW_SLOTS = 10
#: Default seed of the world (the capacity telemetry's default seed too).
DEFAULT_SEED = 42
#: Telemetry is sampled this often: what an operator knows of the world ends at the last sample.
TELEMETRY_INTERVAL_S = 300.0
#: No burst chance is above this (a window's draw is compared with each pattern's own chance).
_BURST_CHANCE_BASE = 0.25
#: Background traffic never takes more than this fraction of a link.
MAX_BACKGROUND = 0.9

SALT_DIRTY, SALT_DIRTY_NOISE, SALT_BURST, SALT_LINK, SALT_LINK_NOISE, SALT_LINK_BURST = 21, 22, 23, 24, 25, 26


# ---------------------------------------------------------------------- the generator


def mix(*values: int) -> int:
    """splitmix64 over the values: a well-spread 64-bit hash, the same on every machine."""
    h = 0x9E3779B97F4A7C15
    for v in values:
        h = (h ^ (v & MASK)) * 0xBF58476D1CE4E5B9 & MASK
        h = (h ^ (h >> 27)) * 0x94D049BB133111EB & MASK
        h ^= h >> 31
    return h


def unit(*values: int) -> float:
    """A number in [0, 1) from the values."""
    return mix(*values) / 2**64


def activity(t: float, utc_offset_h: float) -> float:
    """0..1: how busy people are at UTC epoch second `t` at that offset (weekday business hours peak at 1)."""
    local = t / 3600.0 + utc_offset_h
    hour = local % 24.0
    day = int(local // 24.0 + 3) % 7  # 1970-01-01 was a Thursday: 0 = Monday
    if 8.0 <= hour <= 19.0:
        curve = 0.5 - 0.5 * math.cos(2 * math.pi * (hour - 8.0) / 11.0)
        curve = curve**0.6  # a broad plateau, not a spike
    else:
        curve = 0.0
    return curve * (0.33 if day >= 5 else 1.0)


def _night(t: float, utc_offset_h: float) -> float:
    """1 during the backup window (01:00-04:00 local), else 0."""
    hour = (t / 3600.0 + utc_offset_h) % 24.0
    return 1.0 if 1.0 <= hour < 4.0 else 0.0


def last_telemetry_s(t: float) -> float:
    """The epoch second of the last telemetry sample at or before `t`: what is known of the world ends there."""
    return math.floor(t / TELEMETRY_INTERVAL_S) * TELEMETRY_INTERVAL_S


def _slot(t: float) -> int:
    # A hair of tolerance so that a time computed as "slot end" lands in the next slot, not before it.
    return math.floor(t / SLOT_S + 1e-9)


@lru_cache(maxsize=65_536)
def _burst_window(seed: int, salt: int, ident: int, window: int) -> tuple[int, int, float, float] | None:
    """The burst a window may hold: (first slot, length in slots, strength 0.5..1, its draw), or None when its draw
    is above every pattern's chance. Cached: the window's ten slots ask for it in turn."""
    draw = unit(seed, salt, ident, window)
    if draw >= _BURST_CHANCE_BASE:
        return None
    start = int(unit(seed, salt, ident, window, 1) * (BURST_WINDOW_SLOTS - 4))
    length = 2 + int(unit(seed, salt, ident, window, 2) * 4)
    return start, length, 0.5 + 0.5 * unit(seed, salt, ident, window, 3), draw


def _burst(seed: int, salt: int, ident: int, slot: int, chance: float) -> float:
    """0..1: the strength of the burst covering `slot`, 0 when none. One burst at most per window."""
    window, offset = divmod(slot, BURST_WINDOW_SLOTS)
    burst = _burst_window(seed, salt, ident, window)
    if burst is None:
        return 0.0
    start, length, strength, draw = burst
    if draw >= chance or not start <= offset < start + length:
        return 0.0
    return strength


@lru_cache(maxsize=65_536)
def _slow_noise(seed: int, salt: int, ident: int, block: int) -> float:
    """-0.5..0.5, the same over the five slots of a block (cached)."""
    return unit(seed, salt, ident, block) - 0.5


# ---------------------------------------------------------------------- a workload's dirty rate


@dataclass(frozen=True, slots=True)
class DirtyPattern:
    """How one workload dirties its memory over time.

    ``base_bps`` is its rate at its busy hour (the inventory's ``dirty_rate_bps``); at night it falls to ``quiet``
    of that; ``noise`` is the per-minute multiplicative spread; a ten-minute window holds a burst with chance
    ``burst_chance``, multiplying the rate by up to ``burst_factor``.
    """

    seed: int
    workload_id: int
    base_bps: float
    utc_offset_h: float
    quiet: float
    noise: float
    burst_chance: float
    burst_factor: float


def dirty_pattern_for(
    *, seed: int = DEFAULT_SEED, workload_id: int, base_bps: float, longitude: float = 0.0
) -> DirtyPattern:
    """The pattern of workload `workload_id` (its own, from hashes of the seed and its id)."""
    a, b, c, d = (unit(seed, SALT_DIRTY, workload_id, k) for k in range(4))
    return DirtyPattern(
        seed=seed,
        workload_id=workload_id,
        base_bps=float(base_bps),
        utc_offset_h=longitude / 15.0,
        quiet=0.25 + 0.35 * a,
        noise=0.10 + 0.15 * b,
        burst_chance=0.05 + 0.20 * c,
        burst_factor=1.5 + 1.5 * d,
    )


def dirty_rate_at(pattern: DirtyPattern, t: float) -> float:
    """Bytes/s the workload dirties at epoch second `t` (constant over each one-minute slot)."""
    if pattern.base_bps <= 0.0:
        return 0.0
    p = pattern
    slot = _slot(t)
    start = slot * SLOT_S
    level = p.quiet + (1.0 - p.quiet) * activity(start, p.utc_offset_h)
    slow = _slow_noise(p.seed, SALT_DIRTY_NOISE, p.workload_id, slot // 5)
    fast = unit(p.seed, SALT_DIRTY_NOISE, p.workload_id, slot, 1) - 0.5
    noise = 1.0 + p.noise * (1.2 * slow + 0.8 * fast)
    burst = _burst(p.seed, SALT_BURST, p.workload_id, slot, p.burst_chance)
    return p.base_bps * level * noise * (1.0 + (p.burst_factor - 1.0) * burst)


# ---------------------------------------------------------------------- a link's background traffic


@dataclass(frozen=True, slots=True)
class LinkPattern:
    """The traffic other than migrations on one link, as a fraction of its bandwidth: ``base``, plus ``swing`` at
    the business peak, plus ``backup`` during the nightly backup window, plus noise and bursts (up to ``burst``)."""

    seed: int
    link_id: int
    utc_offset_h: float
    base: float
    swing: float
    backup: float
    noise: float
    burst_chance: float
    burst: float


def link_pattern_for(*, seed: int = DEFAULT_SEED, link_id: int, longitude: float = 0.0) -> LinkPattern:
    """The pattern of link `link_id`; `longitude` sets whose business day it follows (its two sites' mean)."""
    a, b, c, d, e = (unit(seed, SALT_LINK, link_id, k) for k in range(5))
    return LinkPattern(
        seed=seed,
        link_id=link_id,
        utc_offset_h=longitude / 15.0,
        base=0.05 + 0.10 * a,
        swing=0.10 + 0.20 * b,
        backup=0.35 * c if c > 0.5 else 0.0,
        noise=0.03 + 0.04 * d,
        burst_chance=0.10 + 0.15 * e,
        burst=0.25,
    )


def background_at(pattern: LinkPattern, t: float) -> float:
    """The fraction of the link other traffic takes at epoch second `t` (constant over each slot)."""
    p = pattern
    slot = _slot(t)
    start = slot * SLOT_S
    slow = _slow_noise(p.seed, SALT_LINK_NOISE, p.link_id, slot // 5)
    fast = unit(p.seed, SALT_LINK_NOISE, p.link_id, slot, 1) - 0.5
    value = (
        p.base
        + p.swing * activity(start, p.utc_offset_h)
        + p.backup * _night(start, p.utc_offset_h)
        + p.noise * (1.2 * slow + 0.8 * fast)
        + p.burst * _burst(p.seed, SALT_LINK_BURST, p.link_id, slot, p.burst_chance)
    )
    return min(MAX_BACKGROUND, max(0.0, value))


def _mean(fn, pattern, a: float, b: float) -> float:
    """Time-average of a slot-wise constant function over [a, b] (its value at `a` when the interval is empty)."""
    if b - a <= 1e-9:
        return fn(pattern, a)
    total = 0.0
    t = a
    while t < b - 1e-9:
        end = min(b, (_slot(t) + 1) * SLOT_S)
        total += fn(pattern, t) * (end - t)
        t = end
    return total / (b - a)


def mean_dirty_rate(pattern: DirtyPattern | None, a: float, b: float) -> float | None:
    """Mean dirty rate over epoch seconds [a, b]; None without a pattern."""
    return None if pattern is None else _mean(dirty_rate_at, pattern, a, b)


def mean_background(pattern: LinkPattern | None, a: float, b: float) -> float:
    """Mean background fraction over epoch seconds [a, b]; 0 without a pattern."""
    return 0.0 if pattern is None else _mean(background_at, pattern, a, b)


# ---------------------------------------------------------------------- running migrations through the world


@dataclass(slots=True)
class WorldRun:
    """One migration moving through the world: its simulation, the epoch second it started (`origin_s`), its
    workload's dirty pattern (None: the params' constant rate) and how many simulated seconds pass per wall
    second (`speed`). `sim` is replaced whenever the dirty rate of the current round changes."""

    sim: PrecopySimulation
    origin_s: float
    dirty: DirtyPattern | None = None
    speed: float = 1.0
    #: The share of the link (wire bytes/s) the run was last given while it used the link; None before.
    share_bps: float | None = None
    _round: int | None = None
    _round_start_s: float = 0.0

    @property
    def now_s(self) -> float:
        """The world's epoch second for this migration."""
        return self.origin_s + self.sim.elapsed_s

    def charge_round(self, until_s: float) -> None:
        """Set the current round's dirty rate to the guest's mean rate from the round's start to `until_s`
        (simulated seconds): the engine charges a round its rate x its duration, so it charges the real integral.
        The rate is a parameter of the simulation, changed through its saved state (``to_state``/``from_state``)."""
        index = self.sim.current_round
        if self.dirty is None or index is None:
            return
        state = None
        if index != self._round:
            state = self.sim.to_state()
            self._round, self._round_start_s = index, float(state["r_start"])
        start = self._round_start_s
        rate = _mean(dirty_rate_at, self.dirty, self.origin_s + start, self.origin_s + max(until_s, start))
        if abs(self.sim.params.dirty_rate_bps - rate) <= 1e-9 * max(1.0, rate):
            return
        state = state or self.sim.to_state()
        state["params"]["dirty_rate_bps"] = rate
        self.sim = PrecopySimulation.from_state(state)


def _to_next_slot(t: float) -> float:
    return (_slot(t) + 1) * SLOT_S - t


def advance_in_world(
    runs: Sequence[WorldRun],
    *,
    capacity_bps: float,
    link: LinkPattern | None,
    wall_s: float,
    max_iterations: int = 200_000,
) -> list[list[Event]]:
    """Advance `runs` (migrations sharing one link) by `wall_s` wall seconds through the world.

    Rules: the capacity available to migrations is ``capacity_bps x (1 - background)`` at the world time of the
    first run still going (the oldest, when the caller orders them by age); it is shared by water-filling, each
    run capped at its own transport rate (:attr:`PrecopySimulation.wire_cap_bps`), and re-shared at every
    boundary of any run and every slot of the world; each pre-copy round is charged the guest's mean dirty rate
    over its own duration. ``wall_s`` may be ``math.inf`` (run to the end). Returns each run's engine events.
    """
    events: list[list[Event]] = [[] for _ in runs]
    active = [i for i, r in enumerate(runs) if not r.sim.done]
    remaining = wall_s
    for _ in range(max_iterations):
        if not active:
            break
        ref = runs[active[0]]
        available = capacity_bps * (1.0 - (background_at(link, ref.now_s) if link is not None else 0.0))
        consumers = [i for i in active if runs[i].sim.consumes_bandwidth]
        shares = [0.0] * len(runs)
        for i, share in zip(
            consumers, fair_shares(available, [runs[i].sim.wire_cap_bps for i in consumers]), strict=True
        ):
            shares[i] = runs[i].share_bps = share
        step = min(runs[i].sim.time_to_next_boundary(shares[i]) / runs[i].speed for i in active)
        if step > 0 and remaining <= 0:
            break
        if link is not None:
            step = min(step, _to_next_slot(ref.now_s) / ref.speed)
        for i in active:
            if runs[i].dirty is not None and runs[i].sim.current_round is not None:
                step = min(step, _to_next_slot(runs[i].now_s) / runs[i].speed)
        step = min(step, remaining)
        if not math.isfinite(step):
            raise RuntimeError("no migration can progress: every share of the link is zero")
        for i in active:
            run = runs[i]
            run.charge_round(run.sim.elapsed_s + step * run.speed)
            events[i].extend(run.sim.advance(step * run.speed, shares[i]))
        remaining -= step
        active = [i for i in active if not runs[i].sim.done]
    return events


def run_in_world(
    params: PrecopyParams,
    *,
    origin_s: float,
    dirty: DirtyPattern | None,
    link: LinkPattern | None,
    capacity_bps: float,
) -> PrecopyResult:
    """Run one migration alone on its link, from epoch second `origin_s` to its end, through the world.
    `params.bandwidth_bps` is its NIC; `capacity_bps` the link's (or, inside a site, the NIC's) bandwidth."""
    run = WorldRun(PrecopySimulation(params, shared=True), origin_s, dirty)
    advance_in_world([run], capacity_bps=capacity_bps, link=link, wall_s=math.inf)
    return run.sim.result()
