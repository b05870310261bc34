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

Hooks for an engine profile (e.g. a hypervisor's own rules): the completion test
(:meth:`PrecopySimulation._fits_budget`), the auto-converge trigger (:meth:`PrecopySimulation._cap_reached`)
and the stop-and-copy rate (:meth:`PrecopySimulation._stop_rate`) are each one method.

Between two *boundaries* (end of the disk copy, end of a round, end of the stop-and-copy, end of
the switchover overhead) every rate is constant for a constant bandwidth, so the time to the next
boundary is one division: a scheduler can jump straight to the next event.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from . import qemu as _qemu
from .params import LinkSpec, PrecopyParams
from .transport import RateLimits, binding_limit, limit_phrase, mb_s, own_limit, rate_limits, size

#: Version 2: transport (wire cap, slow start, zero pages). Version 1 states are still read.
STATE_VERSION = 2

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


class Round(NamedTuple):
    """One pre-copy round (a NamedTuple: immutable and cheap, thousands are made per wave).

    ``bytes`` of guest memory were sent in ``duration_s`` starting at ``start_s`` (seconds since
    the migration started); meanwhile the guest dirtied ``dirtied_bytes`` at ``dirty_rate_bps``
    (after ``throttle``, the fraction of the guest's speed taken away by auto-converge).
    """

    index: int
    start_s: float
    duration_s: float
    bytes: float
    dirty_rate_bps: float
    throttle: float
    dirtied_bytes: float


_new_tuple = tuple.__new__


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened during :meth:`PrecopySimulation.advance`.

    ``kind`` is one of ``"phase_changed"`` (``phase`` is the new phase), ``"round_started"``,
    ``"round_completed"`` (``round`` is set) and ``"finished"`` (``detail`` is the outcome).
    ``time_s`` is the simulated time since the migration started.
    """

    kind: str
    time_s: float
    phase: str
    round: Round | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-able dict."""
        return {
            "kind": self.kind,
            "time_s": self.time_s,
            "phase": self.phase,
            "round": None if self.round is None else self.round._asdict(),
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class PrecopyResult:
    """The outcome of one migration; every figure is explained by ``reason``.

    - ``rounds``: the pre-copy rounds only (the stop-and-copy is ``stop_copy_*``).
    - ``outcome``: ``"converged"`` (the stop-and-copy fitted the budget), ``"forced"`` (the guest
      was stopped anyway, downtime over budget) or ``"aborted"`` (workload left on its source).
    - ``ended_by``: ``"converged"`` when pre-copy converged on its own, else the cap that stopped
      it (``"max_rounds"`` or ``"max_total_factor"``); ``policy`` is then the policy applied and
      ``throttle`` the final throttle fraction (0 when the guest was never slowed down).
    - ``total_time_s`` = ``storage_time_s`` + ``precopy_time_s`` + ``downtime_s``;
      ``downtime_s`` = ``stop_copy_time_s`` + switchover overhead (0 when aborted).
    - ``bytes_sent`` = ``memory_bytes_sent`` (rounds + stop-and-copy) + ``storage_bytes`` (disk
      copy + mirrored writes); ``wire_bytes`` is what crossed the link: after compression, without
      the zero pages (sent as headers only).
    - ``limit``: the limit that set the rate at the last decision (``"link"``, ``"nic"``,
      ``"window"``, ``"loss"``, ``"codec"`` or ``"cipher"``, see :func:`~migration.engine.rate_limits`);
      ``rate_bps`` is that rate (memory bytes/s); ``share_bps`` the share of the link it was given
      (None: alone at ``bandwidth_bps``). ``limit_sentence`` says it with its arithmetic and
      ``limit_advice`` what would lift it (computed on access: a wave of 100,000 does not pay for words
      nobody reads; :attr:`limits` is the whole :class:`~migration.engine.RateLimits`).
    - ``slow_start_s``: seconds lost to the TCP slow-start ramp before the first byte;
      ``memory_sent_at_cap_bytes``: memory sent when a cap ended normal pre-copy (0 if none did).
    - ``reason`` (made on access, like the limit's words) explains it all in a few sentences.
    """

    rounds: tuple[Round, ...]
    converged: bool
    outcome: str
    ended_by: str
    policy: str | None
    throttle: float
    throttled_rounds: int
    total_time_s: float
    downtime_s: float
    bytes_sent: float
    wire_bytes: float
    memory_bytes: float
    memory_bytes_sent: float
    storage_bytes: float
    storage_time_s: float
    precopy_time_s: float
    stop_copy_bytes: float
    stop_copy_time_s: float
    switchover_overhead_s: float
    limit: str = "link"
    rate_bps: float = 0.0
    share_bps: float | None = None
    slow_start_s: float = 0.0
    memory_sent_at_cap_bytes: float = 0.0
    params: PrecopyParams | None = field(default=None, repr=False, compare=False)

    @property
    def reason(self) -> str:
        """Every figure explained in words (made on access: a wave of 100,000 does not pay for it)."""
        p = self.params
        if p is None:
            return ""
        n = len(self.rounds)
        downtime = self.downtime_s
        parts: list[str] = []
        if p.disk_bytes > 0:
            parts.append(
                f"Storage moved first: {size(p.disk_bytes)} of disk copied in {_dur(self.storage_time_s)} "
                f"with {size(self.storage_bytes - p.disk_bytes)} of guest writes mirrored until the switchover."
            )
        budget = f"the {_dur(p.max_downtime_s)} downtime budget"
        rate = f"{mb_s(self.rate_bps)}, {limit_phrase(self.limit, self.share_bps)}"
        if self.ended_by == "converged":
            parts.append(
                f"Converged after {n} pre-copy round{'s' if n != 1 else ''}: the last {size(self.stop_copy_bytes)} "
                f"fit {budget} at {rate}; downtime {_dur(downtime)}."
                + (_qemu.reason_clause(p, self.throttle, self.throttled_rounds) if p.profile == "qemu" else "")
            )
            return " ".join(parts)
        if self.ended_by == "max_rounds":
            cap = f"Pre-copy reached max_rounds ({p.max_rounds} rounds) without converging"
        else:
            cap = (
                f"Pre-copy sent {self.memory_sent_at_cap_bytes / self.memory_bytes:.2f} x memory, over "
                f"max_total_factor ({p.max_total_factor:g}), without converging"
            )
        cap += f" (the guest dirties {mb_s(p.dirty_rate_bps)} against {rate})"
        if self.policy == "abort":
            parts.append(f"{cap}; policy 'abort' cancelled the migration: the workload stays on its source.")
        elif self.policy == "force":
            parts.append(
                f"{cap}; policy 'force' stopped the guest anyway: {size(self.stop_copy_bytes)} copied while paused, "
                f"downtime {_dur(downtime)} exceeds {budget}."
            )
        elif self.converged:
            parts.append(
                f"{cap}; policy 'throttle' slowed the guest down (auto-converge) over {self.throttled_rounds} "
                f"round{'s' if self.throttled_rounds != 1 else ''} up to {self.throttle:.0%} and it converged: "
                f"the last {size(self.stop_copy_bytes)} fit {budget}; downtime {_dur(downtime)}."
            )
        else:
            parts.append(
                f"{cap}; policy 'throttle' slowed the guest down up to {self.throttle:.0%} for "
                f"{self.throttled_rounds} rounds (max_throttle_rounds) without converging, so the stop-and-copy "
                f"was forced: downtime {_dur(downtime)} exceeds {budget}."
            )
        return " ".join(parts)

    @property
    def limits(self) -> RateLimits:
        """The binding limit with its sentence, advice and every candidate (see :func:`rate_limits`)."""
        if self.params is None:
            raise ValueError("this result has no params to explain its rate")
        return rate_limits(self.params, share_bps=self.share_bps)

    @property
    def limit_sentence(self) -> str:
        """The binding limit and its arithmetic, e.g. "The TCP window binds: 1 stream × 6.0 MiB / 65 ms = 96.8 MB/s"."""
        return self.limits.sentence

    @property
    def limit_advice(self) -> list[str]:
        """What would lift the binding limit, with numbers."""
        return self.limits.advice

    @property
    def memory_sent_ratio(self) -> float:
        """Memory bytes sent divided by guest memory (1.0 = each page once)."""
        return self.memory_bytes_sent / self.memory_bytes

    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-able dict (rounds as dicts)."""
        d = {name: getattr(self, name) for name in self.__slots__ if name != "params"}
        d["rounds"] = [r._asdict() for r in self.rounds]
        d["reason"] = self.reason
        if self.params is not None:
            limits = self.limits
            d["limit_sentence"] = limits.sentence
            d["limit_advice"] = limits.advice
        d["memory_sent_ratio"] = self.memory_sent_ratio
        return d


def _dur(x: float) -> str:
    return f"{x * 1000:.1f} ms" if x < 1 else f"{x:.2f} s"


class PrecopySimulation:
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

    @property
    def switchover_held(self) -> bool:
        """Whether the switchover is held (see :meth:`hold_switchover`)."""
        return self._hold

    def hold_switchover(self, held: bool) -> None:
        """Hold the switchover (a maintenance window not open yet) or release it.

        Held, pre-copy keeps syncing: every decision starts another pass instead of the stop-and-copy, and no cap
        or policy ends it (neither auto-converge's caps nor the abort policy fire while held). A held pass sends what
        is dirty (nothing more: bytes sent are the guest's dirtied pages, not the link's share) and lasts at least
        :data:`HOLD_PASS_S`, so that a quiet guest's passes still take time; while it waits it leaves its share of
        the link to others. Released, the next decision is the normal one (the pass under way ends first, a wait at
        once), and the caps count rounds and memory sent from the release (the passes that waited are not held
        against it)."""
        if self._hold and not held:
            under_way = self._stage in (_ROUND, _HOLDWAIT)
            self._cap_round0 = len(self._rounds) + 1  # the held pass under way ends first
            self._cap_mem0 = self._mem_done + (self._r_bytes if under_way else 0.0)
            self._r_min_s = 0.0
            if self._stage == _HOLDWAIT:
                self._wait_left = 0.0
        self._hold = bool(held)

    def run_to_end(self, bandwidth_bps: float) -> PrecopyResult:
        """Run to the end at a constant ``bandwidth_bps`` and return the result."""
        if not (math.isfinite(bandwidth_bps) and bandwidth_bps > 0):
            raise ValueError(f"bandwidth_bps must be a finite number > 0, got {bandwidth_bps!r}")
        while self._stage != _DONE:
            ttb = self._ttb(bandwidth_bps)
            self._progress(ttb, bandwidth_bps)
            self._boundary(bandwidth_bps, None)
        return self.result()

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
            # Computed from the count (not accumulated) so that floats do not drift.
            t = min(round(p.throttle_initial + p.throttle_increment * self._throttled_rounds, 12), p.throttle_max)
            self._start_round(t, events)
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
