"""What a pre-copy simulation reports: its rounds, its events and its result (with the words that explain it).

Made by :class:`~migration.engine.precopy.PrecopySimulation`; plain immutable values, cheap to build (a wave of
100,000 makes millions of rounds) and JSON-able through ``to_dict``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from hybridcloud.core.units import format_bytes, format_duration, format_rate

from . import qemu as _qemu
from .params import PrecopyParams
from .transport import RateLimits, limit_phrase, rate_limits


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
                f"Storage moved first: {format_bytes(p.disk_bytes)} of disk copied in "
                f"{format_duration(self.storage_time_s)} "
                f"with {format_bytes(self.storage_bytes - p.disk_bytes)} of guest writes mirrored until the switchover."
            )
        budget = f"the {format_duration(p.max_downtime_s)} downtime budget"
        rate = f"{format_rate(self.rate_bps)}, {limit_phrase(self.limit, self.share_bps)}"
        if self.ended_by == "converged":
            parts.append(
                f"Converged after {n} pre-copy round{'s' if n != 1 else ''}: "
                f"the last {format_bytes(self.stop_copy_bytes)} "
                f"fit {budget} at {rate}; downtime {format_duration(downtime)}."
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
        cap += f" (the guest dirties {format_rate(p.dirty_rate_bps)} against {rate})"
        if self.policy == "abort":
            parts.append(f"{cap}; policy 'abort' cancelled the migration: the workload stays on its source.")
        elif self.policy == "force":
            parts.append(
                f"{cap}; policy 'force' stopped the guest anyway: "
                f"{format_bytes(self.stop_copy_bytes)} copied while paused, "
                f"downtime {format_duration(downtime)} exceeds {budget}."
            )
        elif self.converged:
            parts.append(
                f"{cap}; policy 'throttle' slowed the guest down (auto-converge) over {self.throttled_rounds} "
                f"round{'s' if self.throttled_rounds != 1 else ''} up to {self.throttle:.0%} and it converged: "
                f"the last {format_bytes(self.stop_copy_bytes)} fit {budget}; downtime {format_duration(downtime)}."
            )
        else:
            parts.append(
                f"{cap}; policy 'throttle' slowed the guest down up to {self.throttle:.0%} for "
                f"{self.throttled_rounds} rounds (max_throttle_rounds) without converging, so the stop-and-copy "
                f"was forced: downtime {format_duration(downtime)} exceeds {budget}."
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
