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
  round boundary touches only its own migration, and all shares are recomputed only when the set
  of migrations on the wire changes (a start, a switchover, an end).
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from .params import LinkSpec, PrecopyParams
from .precopy import PrecopySimulation
from .results import PrecopyResult, _new_tuple
from .rounds import _CONSUMING, _DONE


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
    n = len(caps)
    if n == 0:
        return []
    equal = capacity / n
    if min(caps) >= equal:  # the usual case: nobody is limited by its own NIC
        return [equal] * n
    shares = [0.0] * n
    left = capacity
    remaining = n
    for i in sorted(range(n), key=caps.__getitem__):
        fair = left / remaining
        give = caps[i] if caps[i] < fair else fair
        shares[i] = give
        left -= give
        remaining -= 1
    return shares


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
    n = len(migrations)
    capacity = link.bandwidth_bps
    starts = [0.0] * n
    ends = [0.0] * n
    done: list[PrecopySimulation | None] = [None] * n

    # Parallel lists over the active migrations (at most max_concurrent: linear scans are fastest).
    act_idx: list[int] = []  # input index
    act_sim: list[PrecopySimulation] = []
    act_share: list[float] = []  # raw bandwidth while nothing changes
    act_next: list[float] = []  # absolute time of its next boundary
    act_ttb: list[float] = []  # that boundary, relative to act_synced
    act_synced: list[float] = []  # time up to which the simulation has been advanced
    now = 0.0
    queued = 0

    while True:
        # Start queued migrations into free slots, then re-share the link.
        while queued < n and len(act_idx) < max_concurrent:
            act_idx.append(queued)
            act_sim.append(PrecopySimulation(migrations[queued], shared=True, link=link))
            act_share.append(-1.0)  # no share yet: the re-share gives it one
            act_next.append(now)
            act_ttb.append(0.0)
            act_synced.append(now)
            starts[queued] = now
            queued += 1
        if not act_idx:
            break
        _reshare(now, capacity, act_sim, act_share, act_next, act_ttb, act_synced)

        # Process boundaries until the set of migrations on the wire changes.
        while True:
            t = min(act_next)
            i = act_next.index(t)
            sim = act_sim[i]
            share = act_share[i]
            was_consuming = _CONSUMING[sim._stage]
            sim._progress(act_ttb[i], share)
            sim._boundary(share, None)
            now = t
            act_synced[i] = t
            stage = sim._stage
            if stage == _DONE:
                k = act_idx[i]
                ends[k] = t
                done[k] = sim
                for lst in (act_idx, act_sim, act_share, act_next, act_ttb, act_synced):
                    del lst[i]
                break
            ttb = sim._ttb(share)
            act_ttb[i] = ttb
            act_next[i] = t + ttb
            if _CONSUMING[stage] != was_consuming:
                break
    return _wave_result(link, max_concurrent, starts, ends, done)


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


def _reshare(
    now: float,
    capacity: float,
    sims: list[PrecopySimulation],
    shares: list[float],
    nexts: list[float],
    ttbs: list[float],
    synced: list[float],
) -> None:
    """Give new shares; a simulation whose share changes is first brought up to ``now`` at its old
    share and gets a new next boundary. One whose share is unchanged (the usual case when a migration
    ends and a queued one takes its slot) is left alone: its next boundary still holds."""
    consumers = [i for i, sim in enumerate(sims) if _CONSUMING[sim._stage]]
    new = [0.0] * len(sims)
    for i, s in zip(consumers, fair_shares(capacity, [sims[i]._cap for i in consumers]), strict=True):
        new[i] = s
    for i, sim in enumerate(sims):
        share = new[i]
        if share == shares[i]:
            continue
        dt = now - synced[i]
        if dt > 0.0:
            # Never past its boundary: now <= its next boundary (float noise is clamped by _ttb).
            sim._progress(dt if dt < ttbs[i] else ttbs[i], shares[i])
            synced[i] = now
        shares[i] = share
        ttb = sim._ttb(share)
        ttbs[i] = ttb
        nexts[i] = now + ttb
