"""A wave of live migrations sharing one WAN link: event-driven processor sharing.

Rules:

- At most ``max_concurrent`` migrations are active at once; the others queue in input order (FIFO)
  and start the instant a slot frees.
- The link's bandwidth is shared fairly between the active migrations that are putting bytes on
  the wire, by water-filling: each gets an equal share, except that a migration never gets more
  than its own transport rate (:attr:`PrecopySimulation.wire_cap_bps`: its NIC ``bandwidth_bps``,
  its TCP streams over the link's ``rtt_s`` and ``loss``, its codec and cipher), and what it cannot
  use goes to the others: window-limited moves that leave room on the link do not slow each other. A
  migration in its slow-start ramp or its switchover overhead uses no bandwidth, so its share goes
  to the others too: the link is never idle while a migration could use more of it.
- Between two events every share is constant, so each migration's next boundary is one division
  away (:meth:`PrecopySimulation.time_to_next_boundary`). The loop jumps from event to event; a
  round boundary touches only its own migration, and the shares change only when the set of
  migrations on the wire changes (a start, a switchover, an end): in virtual time
  (:mod:`migration.engine.shared_link`), so that such a change costs nothing per migration whose
  boundary does not depend on it.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from .params import LinkSpec, PrecopyParams
from .precopy import PrecopySimulation
from .results import PrecopyResult, _new_tuple
from .shared_link import SharedLink, water_level


class WaveItem(NamedTuple):
    """One migration of a wave, in input order: when it ran and what it did.

    ``rounds`` is the number of pre-copy rounds; ``result`` has the details (rounds, reason...),
    made on access (a wave of 100,000 does not build 100,000 sentences nobody reads).
    Times are seconds since the wave started. A NamedTuple (immutable, and five times cheaper to
    make than a frozen dataclass: a wave makes one per migration); ``sim`` is the finished simulation.
    """

    index: int
    start_s: float
    end_s: float
    downtime_s: float
    bytes_sent: float
    wire_bytes: float
    outcome: str
    converged: bool
    rounds: int
    sim: PrecopySimulation

    @property
    def result(self) -> PrecopyResult:
        """The migration's full result (rounds, reason, binding limit...)."""
        return self.sim.result()

    @property
    def storage_time_s(self) -> float:
        """Seconds of its disk copy (0 without one): ``result.storage_time_s``, without building the result."""
        return self.sim._storage_time

    def __eq__(self, other: object) -> bool:
        """Items are equal when their figures are (the simulation object itself is not compared)."""
        if not isinstance(other, WaveItem):
            return NotImplemented
        return self[:9] == other[:9]

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __hash__(self) -> int:
        return hash(self[:9])

    @property
    def duration_s(self) -> float:
        """Seconds from start to end (queueing excluded)."""
        return self.end_s - self.start_s


@dataclass(frozen=True, slots=True)
class WaveResult:
    """A planned wave: ``items`` in input order, ``makespan_s`` (end of the last migration),
    ``total_bytes`` (before compression) and ``total_wire_bytes`` (on the link)."""

    items: tuple[WaveItem, ...]
    makespan_s: float
    total_bytes: float
    total_wire_bytes: float
    link: LinkSpec
    max_concurrent: int

    @property
    def link_utilisation(self) -> float:
        """Wire bytes over what the link could have carried during the makespan (0..1)."""
        if self.makespan_s <= 0:
            return 0.0
        return self.total_wire_bytes / (self.link.bandwidth_bps * self.makespan_s)


def fair_shares(capacity: float, caps: Sequence[float]) -> list[float]:
    """Water-filling: split ``capacity`` equally, but never give anyone more than its cap; what a
    capped consumer cannot use is split among the others. Shares sum to ``min(capacity, sum(caps))``."""
    if not caps:
        return []
    counts: dict[float, int] = {}
    for cap in caps:
        counts[cap] = counts.get(cap, 0) + 1
    level = water_level(capacity, sorted(counts), counts, len(caps))
    return [cap if cap < level else level for cap in caps]


def plan_wave(link: LinkSpec, migrations: Sequence[PrecopyParams], max_concurrent: int = 8) -> WaveResult:
    """Plan a wave of migrations over one link (see the module docstring for the rules).

    Deterministic: the same inputs give the same plan. Raises ValueError for an invalid
    ``max_concurrent``.
    """
    if not isinstance(max_concurrent, int) or isinstance(max_concurrent, bool) or max_concurrent < 1:
        raise ValueError(f"max_concurrent must be an integer >= 1, got {max_concurrent!r}")
    # The planner makes hundreds of thousands of small objects and no reference cycle: the cyclic
    # garbage collector would re-scan them all, again and again (40 % of the time at 100,000).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _plan(link, migrations, max_concurrent)
    finally:
        if collecting:
            gc.enable()


def _plan(link: LinkSpec, migrations: Sequence[PrecopyParams], max_concurrent: int) -> WaveResult:
    wave = SharedLink(link, migrations, max_concurrent)
    wave.run()
    return _wave_result(link, max_concurrent, wave.starts, wave.ends, wave.done)


def _wave_result(
    link: LinkSpec,
    max_concurrent: int,
    starts: list[float],
    ends: list[float],
    done: list[PrecopySimulation | None],
) -> WaveResult:
    """Every finished migration's item, and the wave's totals."""
    n = len(done)
    items = []
    total = wire = 0.0
    for k in range(n):
        sim = done[k]
        assert sim is not None
        downtime, sent, wired = sim._totals()
        items.append(
            _new_tuple(
                WaveItem,
                (k, starts[k], ends[k], downtime, sent, wired, sim._outcome, sim._converged, len(sim._rounds), sim),
            )
        )
        total += sent
        wire += wired
    makespan = max(ends) if n else 0.0
    return WaveResult(tuple(items), makespan, total, wire, link, max_concurrent)
