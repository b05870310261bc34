"""The loop of :func:`~migration.engine.plan_wave`: a wave's migrations sharing one link, in virtual time.

The rules are the module docstring's of :mod:`migration.engine.wave` (FIFO admission, water-filling); this is how
they are computed without touching every active migration whenever the set on the wire changes.

- The link's **level** is the share of every consumer its own cap does not hold below it (the water level of
  :func:`water_level`); it changes only when a migration joins or leaves the wire. **V**, the integral of the
  level over time, is what the link has offered each uncapped consumer since the wave began.
- A migration whose stage progresses linearly in its share (a pre-copy pass and the disk copy without mirrored
  writes, the generic stop-and-copy) and whose cap is at or above the level ends its stage at a fixed V, whatever
  the level does meanwhile. It waits in the **V heap**, keyed by that V: a change of level moves the clock, not
  its boundary. This is what makes a change of level cost nothing per migration (a wave of 100,000 over a
  100 Gbit/s link has 400 on the wire, and every end changes the level).
- Every other active migration waits in the **time heap**, keyed by a time: a stage measured in seconds (the
  slow-start ramp, the switchover overhead, a held pass's wait), or a rate that is its own cap (the level is above
  it), or a rate not linear in the share (mirrored disk writes, the QEMU profile's stop-and-copy). The last two
  kinds depend on the level: at each change of level they are brought up to date at their old share and re-timed,
  and a migration whose cap the level rises above leaves the V heap for the time heap.

Ties between boundaries at the same instant go to the migration that started first (input order), as in a scan of
the active migrations in order. Heap entries carry the migration's version; an entry left behind by a re-timing is
skipped when it surfaces.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Sequence

from .params import LinkSpec, PrecopyParams
from .precopy import PrecopySimulation
from .rounds import _CONSUMING, _DONE, _ROUND, _STOPCOPY, _STORAGE

#: Where an active migration waits: the V heap, the time heap (independent of the level), the time heap re-timed at
#: every change of level.
_V, _T, _TD = 0, 1, 2
_INF = math.inf


def water_level(capacity: float, caps: Sequence[float], counts: dict[float, int], n: int) -> float:
    """The share of every consumer not held below it by its own cap, when ``n`` consumers with the sorted distinct
    ``caps`` (``counts[cap]`` of each) split ``capacity``; ``inf`` when every consumer is held by its cap (or there is
    none). Water-filling: an equal split, except that a consumer never gets more than its cap and what it cannot use
    goes to the others."""
    left = capacity
    remaining = n
    for cap in caps:
        fair = left / remaining
        if cap >= fair:
            return fair
        m = counts[cap]
        left -= cap * m
        remaining -= m
    return left / remaining if remaining > 0 else _INF


def _linear(sim: PrecopySimulation, stage: int) -> bool:
    """Whether the migration's current stage progresses linearly in its share (below its cap)."""
    if stage in (_ROUND, _STORAGE):
        return not sim._mirror
    return stage == _STOPCOPY and not sim._qemu


class SharedLink:
    """One wave on one link (see the module docstring); :meth:`run` plans it, the results are in ``starts``,
    ``ends`` and ``done`` (input order)."""

    __slots__ = (
        "capacity", "link", "migrations", "max_concurrent", "queued", "active", "starts", "ends", "done", "sims",
        "mode", "ver", "sync_t", "sync_v", "share", "ttb", "hv", "ht", "vcaps", "td", "t0", "v0", "level", "caps",
        "counts", "consumers", "busy", "epoch", "sync_e",
    )  # fmt: skip

    def __init__(self, link: LinkSpec, migrations: Sequence[PrecopyParams], max_concurrent: int) -> None:
        n = len(migrations)
        self.capacity = link.bandwidth_bps
        self.link = link
        self.migrations = migrations
        self.max_concurrent = max_concurrent
        self.queued = self.active = 0
        self.starts = [0.0] * n
        self.ends = [0.0] * n
        self.done: list[PrecopySimulation | None] = [None] * n
        self.sims: list[PrecopySimulation | None] = [None] * n
        self.mode = [_T] * n
        self.ver = [0] * n
        self.sync_t = [0.0] * n  # the time up to which the migration has been advanced
        self.sync_v = [0.0] * n  # V then (V heap)
        self.sync_e = [-1] * n  # the level's epoch then (V heap)
        self.share = [0.0] * n  # its share since then (time heap)
        self.ttb = [0.0] * n  # its boundary, relative to sync_t, at the level or share it was timed at
        self.hv: list[tuple[float, int, int]] = []  # (V of the boundary, index, version)
        self.ht: list[tuple[float, int, int]] = []  # (time of the boundary, index, version)
        self.vcaps: list[tuple[float, int]] = []  # (cap, index) of migrations in the V heap, lowest cap first
        self.td: set[int] = set()  # migrations re-timed at every change of level
        self.t0 = self.v0 = 0.0  # V was v0 at t0, and has grown at `level` since
        self.level = _INF
        self.caps: list[float] = []  # the consumers' distinct caps, sorted
        self.counts: dict[float, int] = {}
        self.consumers = 0
        self.busy = -1  # the migration whose boundary is being processed
        self.epoch = 0  # how many times the level has changed (a change at the very instant of a sync counts too)

    def run(self) -> None:
        """Jump from boundary to boundary (the earliest of both heaps; ties to the earlier start) until all end."""
        hv, ver, sims, sync_t, sync_v, ttbs = self.hv, self.ver, self.sims, self.sync_t, self.sync_v, self.ttb
        ht, sync_e = self.ht, self.sync_e
        heappop, heappush = heapq.heappop, heapq.heappush
        now = 0.0
        self._start(now)
        level, t0, v0, epoch = self.level, self.t0, self.v0, self.epoch
        tt, kt = self._time_top()
        while True:
            tv = _INF
            while hv:
                vb, kv, ve = hv[0]
                if ve == ver[kv]:
                    tv = t0 + (vb - v0) / level
                    break
                heappop(hv)
            if tv < tt or (tv == tt and tv != _INF and kv < kt):
                heappop(hv)
                sim = sims[kv]
                if sync_e[kv] == epoch:  # the level has not changed since: its boundary is where it was timed
                    ttb = ttbs[kv]
                    sim._progress(ttb, level)
                    tv = sync_t[kv] + ttb
                else:
                    dt = tv - sync_t[kv]
                    if dt > 0.0:
                        sim._progress(dt, (vb - sync_v[kv]) / dt)  # the level's mean since: linear, so exact
                now = tv if tv > now else now
                sim._boundary(level, None)  # on the V heap: its cap does not bind
                if sim._stage == _ROUND:
                    # The usual boundary: a pass ends and the next one starts, on the V heap again (it was on it in a
                    # pass or a disk copy, so it mirrors no writes; the level has not changed, nor its entry's
                    # version: the one just popped was its only one).
                    sync_t[kv] = now
                    sync_v[kv] = vb
                    sync_e[kv] = epoch
                    ttb = ttbs[kv] = sim._ttb(level)
                    heappush(hv, (vb + ttb * level, kv, ve))
                    continue
                self._after(kv, now, True)
            elif tt != _INF:
                heappop(ht)
                now = tt
                sim = sims[kt]
                sim._progress(self.ttb[kt], self.share[kt])
                was = _CONSUMING[sim._stage]
                if was:
                    cap = sim._cap
                    sim._boundary(cap if cap < level else level, None)
                else:
                    sim._boundary(0.0, None)
                self._after(kt, now, was)
            else:
                break
            level, t0, v0, epoch = self.level, self.t0, self.v0, self.epoch
            tt, kt = self._time_top()

    def _time_top(self) -> tuple[float, int]:
        """The time heap's earliest valid boundary (time, index); (inf, -1) when it has none."""
        ht, ver = self.ht, self.ver
        while ht:
            tt, kt, te = ht[0]
            if te == ver[kt]:
                return tt, kt
            heapq.heappop(ht)
        return _INF, -1

    def _after(self, k: int, now: float, was_consuming: bool) -> None:
        """After migration ``k``'s boundary at ``now``: its end, or a join or a leave (re-level), and its new place."""
        self.busy = k
        sim = self.sims[k]
        stage = sim._stage
        if stage == _DONE:
            self._end(k, now, was_consuming)
            return
        if _CONSUMING[stage] != was_consuming:
            self._leave(sim._cap) if was_consuming else self._join(sim._cap)
            self._relevel(now)
        self._schedule(k, now)

    def _schedule(self, k: int, now: float) -> None:
        """Put migration ``k`` (synchronised to ``now``) in the heap its stage and the level call for."""
        sim = self.sims[k]
        stage = sim._stage
        level = self.level
        ver = self.ver[k] + 1
        self.ver[k] = ver
        old = self.mode[k]
        self.sync_t[k] = now
        if _CONSUMING[stage]:
            cap = sim._cap
            share = cap if cap < level else level
            if cap >= level and level != _INF and _linear(sim, stage):
                v = self.v0 + level * (now - self.t0)
                self.sync_v[k] = v
                self.sync_e[k] = self.epoch
                if old != _V:
                    heapq.heappush(self.vcaps, (cap, k))
                    if old == _TD:
                        self.td.discard(k)
                    self.mode[k] = _V
                ttb = self.ttb[k] = sim._ttb(level)
                heapq.heappush(self.hv, (v + ttb * level, k, ver))
                return
            mode = _TD if stage in (_ROUND, _STORAGE, _STOPCOPY) else _T
        else:
            share = 0.0
            mode = _T
        if mode == _TD:
            self.td.add(k)
        elif old == _TD:
            self.td.discard(k)
        self.mode[k] = mode
        self.share[k] = share
        ttb = sim._ttb(share)
        self.ttb[k] = ttb
        heapq.heappush(self.ht, (now + ttb, k, ver))

    def _start(self, now: float) -> None:
        """Start queued migrations into free slots (input order), then re-level and place them."""
        new = []
        migrations = self.migrations
        while self.queued < len(migrations) and self.active < self.max_concurrent:
            k = self.queued
            sim = PrecopySimulation(migrations[k], shared=True, link=self.link)
            self.sims[k] = sim
            self.starts[k] = now
            if _CONSUMING[sim._stage]:
                self._join(sim._cap)
            new.append(k)
            self.queued += 1
            self.active += 1
        self._relevel(now)
        for k in new:
            self._schedule(k, now)

    def _end(self, k: int, now: float, was_consuming: bool) -> None:
        sim = self.sims[k]
        self.ends[k] = now
        self.done[k] = sim
        self.sims[k] = None
        if self.mode[k] == _TD:
            self.td.discard(k)
        self.mode[k] = _T
        self.active -= 1
        if was_consuming:
            self._leave(sim._cap)
        self._start(now)

    def _join(self, cap: float) -> None:
        count = self.counts.get(cap, 0)
        if count == 0:
            bisect.insort(self.caps, cap)
        self.counts[cap] = count + 1
        self.consumers += 1

    def _leave(self, cap: float) -> None:
        count = self.counts[cap] - 1
        if count == 0:
            del self.counts[cap]
            del self.caps[bisect.bisect_left(self.caps, cap)]
        else:
            self.counts[cap] = count
        self.consumers -= 1

    def _relevel(self, now: float) -> None:
        """The level after a join or a leave; if it changed, move the clock and re-time what depends on it."""
        level = water_level(self.capacity, self.caps, self.counts, self.consumers) if self.consumers else _INF
        old = self.level
        if level == old:
            return
        if old != _INF:
            self.v0 += old * (now - self.t0)
        self.t0 = now
        self.level = level
        self.epoch += 1
        sims, busy = self.sims, self.busy
        for k in sorted(self.td):  # brought up to date at their old share (never past their boundary)
            if k == busy:
                continue
            dt = now - self.sync_t[k]
            if dt > 0.0:
                sims[k]._progress(dt if dt < self.ttb[k] else self.ttb[k], self.share[k])
            self._schedule(k, now)
        vcaps = self.vcaps
        kept = []
        while vcaps and (level == _INF or vcaps[0][0] < level):  # the level rose above their cap: now their rate
            entry = heapq.heappop(vcaps)
            k = entry[1]
            if self.mode[k] != _V:
                continue
            if k == busy:  # placed by the caller, after this
                kept.append(entry)
                continue
            dt = now - self.sync_t[k]
            if dt > 0.0:
                sims[k]._progress(dt, (self.v0 - self.sync_v[k]) / dt)
            self._schedule(k, now)
        for entry in kept:
            heapq.heappush(vcaps, entry)
