"""The model of one pre-copy migration, stage by stage: the primitives that
:class:`~migration.engine.precopy.PrecopySimulation` is made of (time to the next boundary, progress without crossing
one, the boundary itself) and the decisions taken at each boundary (stop-and-copy, another round, a policy, a held
pass).

:func:`~migration.engine.plan_wave` calls the three primitives directly in its hot loop; the state they read and
write is the simulation's (its ``__slots__``, see :mod:`migration.engine.precopy`). An engine profile's hooks
(:mod:`migration.engine.qemu`) are called from here.
"""

from __future__ import annotations

import math

from . import qemu as _qemu
from .params import PrecopyParams
from .results import Event, Round, _new_tuple

# Internal stages (ints: compared in the hot loop of plan_wave).
_STORAGE, _DECIDE, _ROUND, _STOPCOPY, _OVERHEAD, _DONE, _SETUP, _HOLDWAIT = range(8)
_STAGE_NAMES = ("storage", "decide", "round", "stopcopy", "overhead", "done", "setup", "hold_wait")
_PHASES = ("storage", "precopy", "precopy", "switchover", "switchover", "done", "precopy", "precopy")
#: Stages during which the migration holds a share of the link (a zero-length decision counts: it
#: is immediately followed by a round or a stop-and-copy). The slow-start ramp holds its share without
#: filling it: the other streams, in congestion avoidance, do not grab it within a few RTTs.
#: A held pass that has sent what was dirty waits for the rest of its :data:`HOLD_PASS_S` without sending.
_CONSUMING = (True, True, True, True, False, False, True, False)

#: Synchronous disk mirroring slows the guest's writes when the link is congested: mirrored
#: writes never take more than this fraction of the migration's bandwidth, so the copy progresses.
MIRROR_MAX_SHARE = 0.5

#: While the switchover is held, each pass lasts at least this many seconds (one sync period: a long hold adds a
#: round every half minute, not thousands). It sends what is dirty, then waits, sending nothing, for the rest.
HOLD_PASS_S = 30.0


_THROTTLES: dict[tuple[float, float, float, int], tuple[float, ...]] = {}


def throttle_steps(p: PrecopyParams) -> tuple[float, ...]:
    """The throttle of the n-th throttled round (n = 0 .. ``max_throttle_rounds`` - 1): ``throttle_initial`` plus
    ``throttle_increment`` per round, at most ``throttle_max``; computed from the count (not accumulated) so that
    floats do not drift, and once per distinct schedule (a wave of 100,000 has a handful)."""
    key = (p.throttle_initial, p.throttle_increment, p.throttle_max, p.max_throttle_rounds)
    steps = _THROTTLES.get(key)
    if steps is None:
        if len(_THROTTLES) > 1024:
            _THROTTLES.clear()
        steps = _THROTTLES[key] = tuple(
            min(round(p.throttle_initial + p.throttle_increment * n, 12), p.throttle_max)
            for n in range(p.max_throttle_rounds)
        )
    return steps


class PassModel:
    """The stage machine of :class:`~migration.engine.precopy.PrecopySimulation` (a mixin: no state of its own)."""

    __slots__ = ()

    # The three primitives below are the whole model; plan_wave calls them directly.

    def _ttb(self, bw: float) -> float:
        st = self._stage
        if st == _ROUND:
            b = (bw if bw < self._cap else self._cap) * self._c
            if self._mirror:
                b -= min(self._write_rate, b * MIRROR_MAX_SHARE)
            left = self._r_bytes - self._r_sent
            if left <= 0.0:
                return 0.0
            return left * self._k / b if b > 0.0 else math.inf
        if st == _DECIDE:
            return 0.0
        if st == _STOPCOPY:
            left = self._stop_bytes - self._stop_sent
            if left <= 0.0:
                return 0.0
            b = self._stop_rate(bw)
            return left * self._k / b if b > 0.0 else math.inf
        if st == _OVERHEAD:
            return self._overhead_left if self._overhead_left > 0.0 else 0.0
        if st == _SETUP:
            return self._setup_left if self._setup_left > 0.0 else 0.0
        if st == _HOLDWAIT:
            return self._wait_left if self._wait_left > 0.0 else 0.0
        if st == _STORAGE:
            b = (bw if bw < self._cap else self._cap) * self._c
            if self._mirror:
                b -= min(self._write_rate, b * MIRROR_MAX_SHARE)
            if self._disk_left <= 0.0:
                return 0.0
            return self._disk_left / b if b > 0.0 else math.inf
        return math.inf

    def _progress(self, dt: float, bw: float) -> None:
        """Move time forward by ``dt`` without crossing a boundary."""
        if dt <= 0.0:
            return
        st = self._stage
        self._elapsed += dt
        if st == _ROUND:
            b = (bw if bw < self._cap else self._cap) * self._c
            if self._mirror:
                w = min(self._write_rate, b * MIRROR_MAX_SHARE)
                self._mirrored += w * dt
                b -= w
            self._r_sent += b * dt / self._k
            self._r_elapsed += dt
        elif st == _STOPCOPY:
            self._stop_sent += self._stop_rate(bw) * dt / self._k
        elif st == _OVERHEAD:
            self._overhead_left -= dt
        elif st == _SETUP:
            self._setup_left -= dt
        elif st == _HOLDWAIT:
            self._wait_left -= dt
            self._r_elapsed += dt
        elif st == _STORAGE:
            b = (bw if bw < self._cap else self._cap) * self._c
            if self._mirror:
                w = min(self._write_rate, b * MIRROR_MAX_SHARE)
                self._mirrored += w * dt
                b -= w
            self._disk_left -= b * dt

    def _boundary(self, bw: float, events: list[Event] | None) -> None:
        """Complete the current stage (its remaining bytes or seconds are ~0) and move on."""
        st = self._stage
        if st == _ROUND:
            if self._r_elapsed < self._r_min_s:  # a held pass has sent what was dirty: it waits out its time
                self._r_sent = self._r_bytes
                self._wait_left = self._r_min_s - self._r_elapsed
                self._stage = _HOLDWAIT
                return
            self._end_round(bw, events)
        elif st == _HOLDWAIT:
            self._wait_left = 0.0
            self._end_round(bw, events)
        elif st == _DECIDE:
            self._decide(bw, events)
        elif st == _STOPCOPY:
            self._stop_sent = self._stop_bytes
            self._stop_time = self._elapsed - self._stop_start
            overhead = self._given.switchover_overhead_s
            if overhead > 0.0:
                self._stage = _OVERHEAD
                self._overhead_left = overhead
            else:
                self._finish(events)
        elif st == _OVERHEAD:
            self._overhead_left = 0.0
            self._finish(events)
        elif st == _SETUP:
            self._setup_left = 0.0
            if self._given.disk_bytes > 0:
                self._stage = _STORAGE
            else:
                self._stage = _DECIDE
                self._decide(bw, events)
        elif st == _STORAGE:
            self._disk_left = 0.0
            self._storage_time = self._elapsed
            self._stage = _DECIDE
            if events is not None:
                events.append(Event("phase_changed", self._elapsed, "precopy"))
            self._decide(bw, events)

    def _end_round(self, bw: float, events: list[Event] | None) -> None:
        """The round is over: record it, take what the guest dirtied meanwhile as the next pass, decide."""
        dur = self._r_elapsed
        rate = self._dirty_rate * (1.0 - self._r_throttle)
        dirtied = rate * dur
        if dirtied > self._ws:  # the guest keeps rewriting its working set
            dirtied = self._ws
        # tuple.__new__ makes the same Round without NamedTuple's Python-level __new__ (hot: one per round)
        rnd = _new_tuple(Round, (len(self._rounds), self._r_start, dur, self._r_bytes, rate, self._r_throttle, dirtied))
        self._rounds.append(rnd)
        self._mem_done += self._r_bytes
        self._r_sent = 0.0
        if self._qemu:
            _qemu.end_pass(self, dirtied)  # the tail merges with the dirtied pages; QEMU's trigger
        else:
            self._dirty = dirtied
            self._k = 1.0  # dirtied pages are written pages: no zero pages after the first pass
        if events is not None:
            events.append(Event("round_completed", self._elapsed, "precopy", rnd))
        self._decide(bw, events)

    # The three hooks an engine profile can replace: completion test, auto-converge trigger,
    # stop-and-copy rate.

    def _stop_rate(self, bw: float) -> float:
        """Memory bytes/s of the stop-and-copy at share ``bw`` (before zero-page savings).

        The guest is paused: no mirrored writes, the migration's whole capped bandwidth (in the
        "qemu" profile, :func:`migration.engine.qemu.stop_rate`)."""
        if self._qemu:
            return _qemu.stop_rate(self, bw)
        return (bw if bw < self._cap else self._cap) * self._c

    def _fits_budget(self, bw: float) -> bool:
        """Completion test (generic profile): the remaining dirty bytes (their wire cost) fit the downtime
        budget at the stop-and-copy rate (that of :meth:`_stop_rate`, its generic branch inlined: one call
        less per round)."""
        cap = self._cap
        return self._dirty * self._k <= (bw if bw < cap else cap) * self._c * self._given.max_downtime_s

    def _cap_reached(self) -> str | None:
        """Auto-converge trigger, checked after each non-converging round of normal pre-copy: the
        name of the cap that ends it (``"max_rounds"``, ``"max_total_factor"``) or None."""
        p = self._given
        if len(self._rounds) - self._cap_round0 >= p.max_rounds:
            return "max_rounds"
        if self._mem_done - self._cap_mem0 > p.max_total_factor * self._mem:
            return "max_total_factor"
        return None

    def _decide(self, bw: float, events: list[Event] | None) -> None:
        """After each round (and before round 0): stop-and-copy, another round, or a policy."""
        p = self._given
        self._decision_bw = bw
        if self._hold and self._rounds:
            self._held_pass(bw, events)
            return
        if self._qemu:
            _qemu.decide(self, bw, events)  # QEMU's completion test and auto-converge trigger
            return
        if self._fits_budget(bw):
            self._converged = True
            self._start_stopcopy(events)
            return
        if self._throttle_on:
            if self._throttled_rounds >= p.max_throttle_rounds:
                self._start_stopcopy(events)  # hard bound: throttling alone could not converge
                return
            self._start_round(self._throttles[self._throttled_rounds], events)
            return
        cap = self._cap_reached()
        if cap is None:
            self._start_round(0.0, events)
            return
        self._ended_by = cap
        self._cap_sent = self._mem_done
        self._policy = p.on_no_convergence
        if self._policy == "throttle":
            self._throttle_on = True
            self._start_round(p.throttle_initial, events)
        elif self._policy == "force":
            self._start_stopcopy(events)
        else:
            self._finish(events, aborted=True)

    def _start_round(self, throttle: float, events: list[Event] | None) -> None:
        self._stage = _ROUND
        self._r_bytes = self._dirty
        if self._qemu:
            _qemu.start_pass(self)  # the pass's tail waits for the next bitmap sync
        self._r_sent = 0.0
        self._r_elapsed = 0.0
        self._r_min_s = 0.0
        self._r_start = self._elapsed
        self._r_throttle = throttle
        if throttle > 0.0:
            self._throttle = throttle
            self._throttled_rounds += 1
        if events is not None:
            events.append(Event("round_started", self._elapsed, "precopy", detail=str(len(self._rounds))))

    @property
    def switchover_held(self) -> bool:
        """Whether the switchover is held (see :meth:`hold_switchover`)."""
        return self._hold

    def hold_switchover(self, held: bool) -> None:
        """Hold the switchover (a maintenance window not open yet) or release it.

        Held, pre-copy keeps syncing: every decision starts another pass instead of the stop-and-copy, and no cap
        or policy ends it (neither auto-converge's caps nor the abort policy fire while held). A held pass sends what
        is dirty (nothing more: bytes sent are the guest's dirtied pages, not the link's share) and lasts at least
        :data:`HOLD_PASS_S`, so that a quiet guest's passes still take time; while it waits
        it leaves its share of the link to others. Released, the next decision is the normal one (the pass under way
        ends first, a wait at once), and the caps count rounds and memory sent from the release (the passes that
        waited are not held against it)."""
        if self._hold and not held:
            under_way = self._stage in (_ROUND, _HOLDWAIT)
            self._cap_round0 = len(self._rounds) + 1  # the held pass under way ends first
            self._cap_mem0 = self._mem_done + (self._r_bytes if under_way else 0.0)
            self._r_min_s = 0.0
            if self._stage == _HOLDWAIT:
                self._wait_left = 0.0
        self._hold = bool(held)

    def _held_pass(self, bw: float, events: list[Event] | None) -> None:
        """Another pass while the switchover is held (see :meth:`hold_switchover`), at the throttle in force: it
        sends what is dirty and lasts at least :data:`HOLD_PASS_S` (waiting, sending nothing, once it has)."""
        self._start_round(0.0, events)
        self._r_throttle = self._throttle if self._throttle_on else 0.0  # in force, not a new throttled round
        self._r_min_s = HOLD_PASS_S

    def _start_stopcopy(self, events: list[Event] | None) -> None:
        self._stage = _STOPCOPY
        self._stop_bytes = self._dirty
        self._stop_sent = 0.0
        self._stop_start = self._elapsed
        if events is not None:
            events.append(Event("phase_changed", self._elapsed, "switchover"))

    def _finish(self, events: list[Event] | None, aborted: bool = False) -> None:
        self._stage = _DONE
        if aborted:
            self._outcome = "aborted"
        else:
            self._outcome = "converged" if self._converged else "forced"
        if events is not None:
            events.append(Event("phase_changed", self._elapsed, "done"))
            events.append(Event("finished", self._elapsed, "done", detail=self._outcome))
