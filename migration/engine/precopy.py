"""Pre-copy live migration of one workload, as a steppable simulation.

One core, :class:`PrecopySimulation`, does all the work. It can be advanced by any time step at a
bandwidth that may change between steps (the Celery driver and :func:`plan_wave` do that), and
:func:`simulate_precopy` is nothing more than that core stepped from boundary to boundary at the
params' own bandwidth, so the closed run and the stepped run cannot disagree.

Stages of one migration (``phase`` is what the outside sees)::

    (slow start) ──> storage ──> precopy (round 0, 1, ...) ──> switchover (stop-and-copy, overhead) ──> done
                                          └── abort policy ──────────────────────────────────────────> done

The slow-start ramp (only with an RTT) puts no byte on the wire; its phase is the next one's.
Rates: the bandwidth handed to the simulation is a share of the link in *wire* bytes/s; the engine
caps it at the migration's own transport limits (:func:`~migration.engine.transport.wire_cap_bps`)
and multiplies by the compression ratio to get the *memory* bytes/s that rounds are counted in.

The module is the simulation's state (its ``__slots__``), public view, stepping API, result and persistence; the
stage machine it runs is :class:`~migration.engine.rounds.PassModel` (``rounds.py``), its rounds, events and result
are :mod:`migration.engine.results`. Hooks for an engine profile (e.g. a hypervisor's own rules): the completion
test (``_fits_budget``), the auto-converge trigger (``_cap_reached``) and the stop-and-copy rate (``_stop_rate``)
are each one method of the stage machine.

Between two *boundaries* (end of the disk copy, end of a round, end of the stop-and-copy, end of
the switchover overhead) every rate is constant for a constant bandwidth, so the time to the next
boundary is one division: a scheduler can jump straight to the next event.
"""

from __future__ import annotations

import math
from typing import Any

from . import qemu as _qemu
from .params import LinkSpec, PrecopyParams
from .results import Event, PrecopyResult, Round
from .rounds import (
    _CONSUMING,
    _DECIDE,
    _DONE,
    _HOLDWAIT,
    _PHASES,
    _ROUND,
    _SETUP,
    _STAGE_NAMES,
    _STOPCOPY,
    _STORAGE,
    PassModel,
    throttle_steps,
)
from .transport import RateLimits, binding_limit, own_limit, rate_limits

#: Version 2: transport (wire cap, slow start, zero pages). Version 1 states are still read.
STATE_VERSION = 2


class PrecopySimulation(PassModel):
    """A pre-copy live migration that can be advanced by any time step.

    Rules: those of :class:`PrecopyParams`. The bandwidth given to :meth:`advance` is the raw
    bandwidth this migration gets during the step (its share of the link, wire bytes/s); the engine
    caps it at :attr:`wire_cap_bps` (NIC, TCP window and loss, codec, cipher) and applies
    ``compression_ratio`` on top. Decisions (stop-and-copy or another round) are taken at round
    boundaries with the bandwidth of the step in which the boundary falls.

    ``shared=True`` says the bandwidth given is a share of a link and ``params.bandwidth_bps`` the
    host's NIC (``plan_wave`` and the driver); it only changes how the binding limit is named
    (:func:`~migration.engine.rate_limits`). ``link``: the migration runs over that link, whose
    ``rtt_s`` and ``loss`` (and ``compression_ratio``, when set) replace the params' own
    (:attr:`params` shows them applied).

    Typical driver loop::

        sim = PrecopySimulation(params)            # or PrecopySimulation.from_state(row.state)
        events = sim.advance(dt_s, share_bps)      # persist sim.to_state(), push events
        if sim.done: result = sim.result()

    With a constant bandwidth, any sequence of steps gives the same rounds and times as
    :func:`simulate_precopy` (up to float rounding).
    """

    __slots__ = (
        "_given",
        "_over",
        "_eff",
        "_qemu",
        "_c",
        "_mem",
        "_ws",
        "_dirty_rate",
        "_write_rate",
        "_mirror",
        "_cap",
        "_cap_name",
        "_setup_s",
        "_throttles",
        "_stage",
        "_elapsed",
        "_disk_left",
        "_mirrored",
        "_storage_time",
        "_dirty",
        "_rounds",
        "_mem_done",
        "_r_bytes",
        "_r_sent",
        "_r_elapsed",
        "_r_start",
        "_r_throttle",
        "_throttle_on",
        "_throttled_rounds",
        "_throttle",
        "_ended_by",
        "_policy",
        "_converged",
        "_outcome",
        "_stop_bytes",
        "_stop_sent",
        "_stop_start",
        "_stop_time",
        "_overhead_left",
        "_decision_bw",
        "_cap_sent",
        "_k",
        "_setup_left",
        "_shared",
        # the "qemu" profile's state (migration/engine/qemu.py)
        "_tail",
        "_period_start",
        "_period_xfer",
        "_period_dirty",
        "_high_cnt",
        # held for a maintenance window (hold_switchover)
        "_hold",
        "_cap_round0",
        "_cap_mem0",
        "_r_min_s",
        "_wait_left",
    )

    # Fields persisted by to_state(), besides params, stage and rounds (the slots before "_stage" are
    # the params and constants derived from them by _setup).
    _SCALARS = tuple(name for name in __slots__[__slots__.index("_stage") :] if name not in ("_stage", "_rounds"))
    #: Defaults of the scalars a version 1 state does not have.
    _V1_DEFAULTS = {"_k": 1.0, "_setup_left": 0.0, "_shared": False}
    #: Defaults of the "qemu" profile's scalars, for states saved before the profile existed.
    _PROFILE_DEFAULTS = {"_tail": 0.0, "_period_start": 0.0, "_period_xfer": 0.0, "_period_dirty": 0.0, "_high_cnt": 0}
    #: Defaults of scalars added later still (states saved before the switchover hold existed).
    _LATER_DEFAULTS = {"_hold": False, "_cap_round0": 0, "_cap_mem0": 0.0, "_r_min_s": 0.0, "_wait_left": 0.0}

    def __init__(self, params: PrecopyParams, *, shared: bool = False, link: LinkSpec | None = None) -> None:
        over: dict[str, float] = {}
        if link is not None:  # the link's RTT and loss (and its WAN optimiser's ratio) replace the params' own
            if params.rtt_s != link.rtt_s:
                over["rtt_s"] = link.rtt_s
            if params.loss != link.loss:
                over["loss"] = link.loss
            if link.compression_ratio is not None and params.compression_ratio != link.compression_ratio:
                over["compression_ratio"] = link.compression_ratio
        self._given = params
        self._over = over or None
        self._eff = None if over else params
        self._setup()
        self._shared = shared
        self._setup_left = self._setup_s
        if self._setup_s > 0.0:
            self._stage = _SETUP
        else:
            self._stage = _STORAGE if params.disk_bytes > 0 else _DECIDE
        # Cost on the wire of one memory byte of the current pass: the first pass skips zero pages.
        self._k = 1.0 - params.zero_page_fraction
        self._elapsed = 0.0
        self._disk_left = float(params.disk_bytes)
        self._mirrored = 0.0
        self._storage_time = 0.0
        self._dirty = float(params.memory_bytes)  # before round 0 the remaining is all memory
        self._rounds: list[Round] = []
        self._mem_done = 0.0
        self._r_bytes = self._r_sent = self._r_elapsed = self._r_start = self._r_throttle = 0.0
        self._throttle_on = False
        self._throttled_rounds = 0
        self._throttle = 0.0
        self._ended_by = "converged"
        self._policy: str | None = None
        self._converged = False
        self._outcome = ""
        self._stop_bytes = self._stop_sent = self._stop_start = self._stop_time = 0.0
        self._overhead_left = 0.0
        self._decision_bw = 0.0
        self._cap_sent = 0.0  # memory sent when a cap stopped the normal pre-copy
        self._tail = self._period_start = self._period_xfer = self._period_dirty = 0.0
        self._high_cnt = 0
        self._hold = False
        self._cap_round0 = 0  # the caps count rounds and memory from here (the release of a hold)
        self._cap_mem0 = 0.0
        self._r_min_s = 0.0  # a held pass lasts at least HOLD_PASS_S
        self._wait_left = 0.0  # ... waiting this much longer once it has sent what was dirty

    @property
    def params(self) -> PrecopyParams:
        """The migration's params as it runs: those given, with the link's RTT, loss and compression
        ratio when it was given a ``link`` (built on first use: a wave of 100,000 rarely needs them)."""
        eff = self._eff
        if eff is None:
            assert self._over is not None
            eff = self._eff = self._given._replace_checked_elsewhere(**self._over)
        return eff

    def _setup(self) -> None:
        # Derived constants, cached for the hot loop. The hot loop reads self._given: only the
        # transport fields (rtt_s, loss, compression_ratio) can differ from self.params, and they are here.
        p = self._given
        over = self._over
        self._qemu = p.profile == "qemu"
        self._c = over.get("compression_ratio", p.compression_ratio) if over else p.compression_ratio
        self._mem = float(p.memory_bytes)
        self._ws = float(p.working_set)
        self._dirty_rate = float(p.dirty_rate_bps)
        self._write_rate = float(p.disk_write_rate_bps)
        self._mirror = p.disk_bytes > 0 and p.disk_write_rate_bps > 0
        self._cap_name, self._cap, self._setup_s = own_limit(p, over)
        self._throttles = throttle_steps(p)
        if self._qemu:
            self._setup_s += _qemu.SETUP_S

    # ------------------------------------------------------------------ public state

    @property
    def phase(self) -> str:
        """``"storage"``, ``"precopy"``, ``"switchover"`` or ``"done"`` (the slow-start ramp counts as
        the phase it leads to)."""
        if self._stage == _SETUP and self._given.disk_bytes > 0:
            return "storage"
        return _PHASES[self._stage]

    @property
    def wire_cap_bps(self) -> float:
        """The most wire bytes/s this migration can use (its water-filling cap on a shared link)."""
        return self._cap

    @property
    def done(self) -> bool:
        """True once the migration has finished (whatever its outcome)."""
        return self._stage == _DONE

    @property
    def consumes_bandwidth(self) -> bool:
        """False during the switchover overhead and once done: the link share can go to others (the
        slow-start ramp holds its share, though it carries nothing yet)."""
        return _CONSUMING[self._stage]

    @property
    def elapsed_s(self) -> float:
        """Simulated seconds since the migration started."""
        return self._elapsed

    @property
    def memory_sent_bytes(self) -> float:
        """Guest memory bytes sent so far (rounds + stop-and-copy); never decreases."""
        extra = self._r_sent if self._stage in (_ROUND, _HOLDWAIT) else 0.0
        return self._mem_done + extra + self._stop_sent

    @property
    def storage_bytes(self) -> float:
        """Disk bytes copied plus mirrored writes so far."""
        return (self._given.disk_bytes - self._disk_left) + self._mirrored

    @property
    def bytes_sent(self) -> float:
        """All bytes sent so far (memory + storage), before compression; never decreases."""
        return self.memory_sent_bytes + self.storage_bytes

    @property
    def dirty_remaining_bytes(self) -> float:
        """Outstanding bytes of the current copy pass (all memory before round 0, 0 when done)."""
        st = self._stage
        if st in (_ROUND, _HOLDWAIT):
            return self._r_bytes - self._r_sent
        if st == _STOPCOPY:
            return self._stop_bytes - self._stop_sent
        if st in (_STORAGE, _DECIDE, _SETUP):
            return self._dirty
        return 0.0

    @property
    def current_round(self) -> int | None:
        """Index of the pre-copy round in progress, or None outside a round."""
        return len(self._rounds) if self._stage in (_ROUND, _HOLDWAIT) else None

    @property
    def rounds(self) -> tuple[Round, ...]:
        """The completed pre-copy rounds."""
        return tuple(self._rounds)

    @property
    def throttle(self) -> float:
        """The guest's current throttle fraction (0 = full speed)."""
        return self._throttle

    # ------------------------------------------------------------------ stepping

    def time_to_next_boundary(self, bandwidth_bps: float) -> float:
        """Seconds until the next boundary at a constant ``bandwidth_bps`` (``inf`` once done or
        when the current stage cannot progress at that bandwidth; 0 when a decision is due)."""
        return self._ttb(bandwidth_bps)

    def advance(self, dt_s: float, bandwidth_bps: float) -> list[Event]:
        """Advance by ``dt_s`` seconds at ``bandwidth_bps`` (this migration's raw share of the
        link), crossing any number of boundaries; return what happened, in order.

        A zero step processes a pending decision. Once done, time stops: the rest of the step is
        ignored.
        """
        if not (math.isfinite(dt_s) and dt_s >= 0):
            raise ValueError(f"dt_s must be a finite number >= 0, got {dt_s!r}")
        if not (math.isfinite(bandwidth_bps) and bandwidth_bps >= 0):
            raise ValueError(f"bandwidth_bps must be a finite number >= 0, got {bandwidth_bps!r}")
        events: list[Event] = []
        while self._stage != _DONE:
            ttb = self._ttb(bandwidth_bps)
            if ttb <= dt_s:
                self._progress(ttb, bandwidth_bps)
                dt_s -= ttb
                self._boundary(bandwidth_bps, events)
            else:
                self._progress(dt_s, bandwidth_bps)
                break
        return events

    def run_to_end(self, bandwidth_bps: float) -> PrecopyResult:
        """Run to the end at a constant ``bandwidth_bps`` and return the result."""
        if not (math.isfinite(bandwidth_bps) and bandwidth_bps > 0):
            raise ValueError(f"bandwidth_bps must be a finite number > 0, got {bandwidth_bps!r}")
        while self._stage != _DONE:
            ttb = self._ttb(bandwidth_bps)
            self._progress(ttb, bandwidth_bps)
            self._boundary(bandwidth_bps, None)
        return self.result()

    # ------------------------------------------------------------------ result

    def result(self) -> PrecopyResult:
        """The result; only once :attr:`done` (raises RuntimeError before)."""
        if self._stage != _DONE:
            raise RuntimeError(f"migration not finished (phase {self.phase!r}); advance it first")
        p = self.params
        aborted = self._outcome == "aborted"
        downtime, sent, wire = self._totals()
        precopy_time = (self._elapsed - downtime) - self._storage_time
        storage = self.storage_bytes
        mem_sent = self.memory_sent_bytes
        share = self._share()
        limit = binding_limit(self._cap_name, self._cap, share)
        return PrecopyResult(
            rounds=tuple(self._rounds),
            converged=self._converged,
            outcome=self._outcome,
            ended_by=self._ended_by,
            policy=self._policy,
            throttle=self._throttle,
            throttled_rounds=self._throttled_rounds,
            total_time_s=self._elapsed,
            downtime_s=downtime,
            bytes_sent=sent,
            wire_bytes=wire,
            memory_bytes=self._mem,
            memory_bytes_sent=mem_sent,
            storage_bytes=storage,
            storage_time_s=self._storage_time,
            precopy_time_s=precopy_time,
            stop_copy_bytes=0.0 if aborted else self._stop_bytes,
            stop_copy_time_s=0.0 if aborted else self._stop_time,
            switchover_overhead_s=0.0 if aborted else p.switchover_overhead_s,
            limit=limit,
            rate_bps=self._stop_rate(self._decision_bw),
            share_bps=share,
            slow_start_s=self._setup_s - (_qemu.SETUP_S if p.profile == "qemu" else 0.0),
            memory_sent_at_cap_bytes=self._cap_sent,
            params=p,
        )

    def _totals(self) -> tuple[float, float, float]:
        """(downtime, bytes sent, wire bytes) once done: the figures a wave needs, without a result."""
        downtime = 0.0 if self._outcome == "aborted" else self._elapsed - self._stop_start
        p = self._given
        sent = self._mem_done + self._stop_sent + (p.disk_bytes - self._disk_left) + self._mirrored
        # At the end the first pass is always complete: its zero pages never crossed the wire.
        return downtime, sent, (sent - p.zero_page_fraction * self._mem) / self._c

    def _share(self, bandwidth_bps: float | None = None) -> float | None:
        bw = self._decision_bw if bandwidth_bps is None else bandwidth_bps
        return None if not self._shared and bw >= self._given.bandwidth_bps else bw

    def limits(self, bandwidth_bps: float | None = None) -> RateLimits:
        """Which limit sets the rate at share ``bandwidth_bps`` (default: the share of the last
        decision), named as :func:`~migration.engine.rate_limits` does. Alone (not ``shared``) at
        the params' own bandwidth, the bandwidth is called the link."""
        return rate_limits(self.params, share_bps=self._share(bandwidth_bps))

    # ------------------------------------------------------------------ persistence

    def to_state(self) -> dict[str, Any]:
        """The whole simulation as a plain JSON-able dict (floats, ints, strings, lists)."""
        state: dict[str, Any] = {name.lstrip("_"): getattr(self, name) for name in self._SCALARS}
        state["version"] = STATE_VERSION
        state["params"] = self.params.to_dict()
        state["stage"] = _STAGE_NAMES[self._stage]
        state["rounds"] = [list(r) for r in self._rounds]
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> PrecopySimulation:
        """Rebuild a simulation saved by :meth:`to_state`; it continues exactly where it was."""
        version = state.get("version")
        if version not in (1, STATE_VERSION):
            raise ValueError(f"unsupported simulation state version {version!r}")
        sim = cls.__new__(cls)
        sim._given = sim._eff = PrecopyParams(**state["params"])
        sim._over = None
        sim._setup()
        for name in cls._SCALARS:
            if version == 1 and name in cls._V1_DEFAULTS:
                setattr(sim, name, cls._V1_DEFAULTS[name])
            elif name.lstrip("_") not in state and name in cls._PROFILE_DEFAULTS:
                setattr(sim, name, cls._PROFILE_DEFAULTS[name])
            elif name.lstrip("_") not in state and name in cls._LATER_DEFAULTS:
                setattr(sim, name, cls._LATER_DEFAULTS[name])
            else:
                setattr(sim, name, state[name.lstrip("_")])
        sim._stage = _STAGE_NAMES.index(state["stage"])
        sim._rounds = [Round(*r) for r in state["rounds"]]
        return sim


def simulate_precopy(params: PrecopyParams) -> PrecopyResult:
    """Simulate one migration alone at ``params.bandwidth_bps`` and return its result.

    It is :class:`PrecopySimulation` stepped from boundary to boundary, so it agrees with any
    stepped run at the same constant bandwidth.
    """
    return PrecopySimulation(params).run_to_end(params.bandwidth_bps)
