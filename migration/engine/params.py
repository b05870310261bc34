"""Inputs of the live-migration engine: one migration's parameters and one WAN link.

Units everywhere: bytes, bytes per second, seconds (1 Gbit/s = 125,000,000 B/s).
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, fields
from typing import Any

#: The downtime budget of a migration when none is given (seconds): the one default, which every layer imports.
DEFAULT_DOWNTIME_LIMIT_S = 0.3
#: What happens when pre-copy hits a cap without converging.
POLICIES = ("throttle", "force", "abort")
#: Engine profiles: the textbook model, or QEMU's own rules (migration/engine/qemu.py).
PROFILES = ("generic", "qemu")


#: The fields that must be finite numbers (validated on every PrecopyParams).
_FINITE_FIELDS = (
    "memory_bytes",
    "bandwidth_bps",
    "dirty_rate_bps",
    "max_downtime_s",
    "max_total_factor",
    "compression_ratio",
    "switchover_overhead_s",
    "disk_bytes",
    "disk_write_rate_bps",
    "throttle_initial",
    "throttle_increment",
    "throttle_max",
    "rtt_s",
    "loss",
    "mss_bytes",
    "zero_page_fraction",
)
_finite_values = operator.attrgetter(*_FINITE_FIELDS)
_isfinite = math.isfinite


def _finite(name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")


@dataclass(frozen=True, slots=True)
class PrecopyParams:
    """Parameters of one pre-copy live migration.

    Rules (see docs/engine.md):

    - ``memory_bytes`` of guest RAM are copied in round 0; each next round copies what the guest
      dirtied during the previous one, ``min(dirty_rate x round duration, working_set_bytes)``.
    - Pre-copy stops and the guest is paused for the final stop-and-copy as soon as the remaining
      dirty bytes fit the downtime budget: ``remaining <= bandwidth x max_downtime_s``.
    - Caps: at most ``max_rounds`` pre-copy rounds, and no new round once more than
      ``max_total_factor x memory_bytes`` of memory has been sent. A guest that hits a cap is
      handled by ``on_no_convergence``: ``"throttle"`` (slow the guest down like QEMU auto-converge
      / vMotion SDPS: ``throttle_initial``, then ``+throttle_increment`` per round, at most
      ``throttle_max``; after ``max_throttle_rounds`` throttled rounds without converging the
      stop-and-copy is forced), ``"force"`` (stop-and-copy anyway) or ``"abort"`` (the workload
      stays on its source).
    - ``compression_ratio`` c (WAN optimisation): a link of bandwidth B carries c x B bytes of
      guest data per second; every rate in the model is the effective one.
    - Storage: when ``disk_bytes > 0`` the disk is copied first (storage migration), while guest
      writes (``disk_write_rate_bps``) are mirrored to the destination until the switchover. The
      mirrored writes share the wire with the copy; a synchronous mirror slows the guest's writes
      when the link is congested, so they never take more than half of the bandwidth.
    - ``bandwidth_bps`` is the raw bandwidth available to this migration (its NIC or link). In
      :func:`~migration.engine.plan_wave` it is a per-migration cap on the fair share of the link.
    - Transport (:mod:`migration.engine.transport`, docs/engine.md "Transport"): the wire rate is
      also capped by ``streams`` TCP streams over ``rtt_s`` (window ``socket_buffer_bytes`` / RTT,
      ``None`` = sized to the bandwidth-delay product; loss ``loss`` with ``mss_bytes`` segments:
      Mathis et al.), by the codec (``codec_rate_bps`` of memory per second, compression on only)
      and the cipher (``cipher_rate_bps`` wire bytes per second, encrypted moves only). A slow-start
      ramp of a few RTTs delays the first byte. ``zero_page_fraction`` of memory is zero pages,
      sent as headers only: free in round 0 (or in a stop-and-copy before round 0).
    - ``profile``: ``"generic"`` (the rules above) or ``"qemu"``, QEMU's own rules
      (:mod:`migration.engine.qemu`, calibrated against real QEMU 7.2 migrations): a pass ends when
      its tail fits ``bandwidth x max_downtime_s`` and merges with newly dirtied pages, the completion
      test uses the pass's bandwidth, auto-converge (``on_no_convergence="throttle"``) starts on QEMU's
      own trigger instead of the round/volume caps, and setup costs a fixed time. In that profile the
      stop-and-copy is not held to ``bandwidth_bps`` (QEMU's ``max-bandwidth``) but runs at
      ``switchover_bandwidth_bps`` (the path's line rate, still capped by the TCP limits) when given;
      the generic profile ignores ``switchover_bandwidth_bps``.
    """

    memory_bytes: float
    bandwidth_bps: float
    dirty_rate_bps: float = 0.0
    max_downtime_s: float = DEFAULT_DOWNTIME_LIMIT_S
    working_set_bytes: float | None = None
    max_rounds: int = 30
    max_total_factor: float = 3.0
    compression_ratio: float = 1.0
    switchover_overhead_s: float = 0.0
    on_no_convergence: str = "throttle"
    disk_bytes: float = 0.0
    disk_write_rate_bps: float = 0.0
    throttle_initial: float = 0.2
    throttle_increment: float = 0.1
    throttle_max: float = 0.99
    max_throttle_rounds: int = 30
    rtt_s: float = 0.0
    loss: float = 0.0
    streams: int = 1
    socket_buffer_bytes: float | None = None
    mss_bytes: float = 1460
    codec_rate_bps: float | None = None
    cipher_rate_bps: float | None = None
    zero_page_fraction: float = 0.0
    profile: str = "generic"
    switchover_bandwidth_bps: float | None = None

    def __post_init__(self) -> None:
        self._check_finite()
        self._check_migration()
        self._check_guest_and_throttle()
        self._check_transport_and_profile()

    def _check_finite(self) -> None:
        # One C-level read of every field, and a quick test (a plain int or float, finite) before the full one:
        # a wave of 100,000 validates 1.6 million numbers.
        for name, value in zip(_FINITE_FIELDS, _finite_values(self), strict=True):
            if (value.__class__ is not float and value.__class__ is not int) or not _isfinite(value):
                _finite(name, value)

    def _check_migration(self) -> None:
        """Memory, bandwidth, dirty rate, downtime, working set, caps, compression, policy."""
        if self.memory_bytes <= 0:
            raise ValueError(f"memory_bytes must be positive, got {self.memory_bytes!r}")
        if self.bandwidth_bps <= 0:
            raise ValueError(f"bandwidth_bps must be positive, got {self.bandwidth_bps!r}")
        if self.dirty_rate_bps < 0:
            raise ValueError(f"dirty_rate_bps must be >= 0, got {self.dirty_rate_bps!r}")
        if self.max_downtime_s < 0:
            raise ValueError(f"max_downtime_s must be >= 0, got {self.max_downtime_s!r}")
        if self.working_set_bytes is not None:
            _finite("working_set_bytes", self.working_set_bytes)
            if not 0 <= self.working_set_bytes <= self.memory_bytes:
                raise ValueError(
                    f"working_set_bytes must be between 0 and memory_bytes ({self.memory_bytes!r}), "
                    f"got {self.working_set_bytes!r}"
                )
        for name in ("max_rounds", "max_throttle_rounds"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        if self.max_total_factor <= 0:
            raise ValueError(f"max_total_factor must be positive, got {self.max_total_factor!r}")
        if self.compression_ratio < 1:
            raise ValueError(
                f"compression_ratio must be >= 1 (1 = no WAN optimisation), got {self.compression_ratio!r}"
            )
        if self.switchover_overhead_s < 0:
            raise ValueError(f"switchover_overhead_s must be >= 0, got {self.switchover_overhead_s!r}")
        if self.on_no_convergence not in POLICIES:
            raise ValueError(f"on_no_convergence must be one of {', '.join(POLICIES)}, got {self.on_no_convergence!r}")

    def _check_guest_and_throttle(self) -> None:
        """Storage and auto-converge throttle."""
        if self.disk_bytes < 0:
            raise ValueError(f"disk_bytes must be >= 0, got {self.disk_bytes!r}")
        if self.disk_write_rate_bps < 0:
            raise ValueError(f"disk_write_rate_bps must be >= 0, got {self.disk_write_rate_bps!r}")
        if not 0 < self.throttle_max < 1:
            raise ValueError(f"throttle_max must be in (0, 1), got {self.throttle_max!r}")
        if not 0 < self.throttle_initial <= self.throttle_max:
            raise ValueError(f"throttle_initial must be in (0, throttle_max], got {self.throttle_initial!r}")
        if self.throttle_increment < 0:
            raise ValueError(f"throttle_increment must be >= 0, got {self.throttle_increment!r}")

    def _check_transport_and_profile(self) -> None:
        """Transport (RTT, loss, streams, buffers, codec, cipher), zero pages and the profile."""
        if self.rtt_s < 0:
            raise ValueError(f"rtt_s must be >= 0, got {self.rtt_s!r}")
        if not 0 <= self.loss < 1:
            raise ValueError(f"loss must be in [0, 1) (a fraction of packets), got {self.loss!r}")
        if not isinstance(self.streams, int) or isinstance(self.streams, bool) or self.streams < 1:
            raise ValueError(f"streams must be an integer >= 1, got {self.streams!r}")
        if self.mss_bytes <= 0:
            raise ValueError(f"mss_bytes must be positive, got {self.mss_bytes!r}")
        for name in ("socket_buffer_bytes", "codec_rate_bps", "cipher_rate_bps"):
            value = getattr(self, name)
            if value is not None:
                _finite(name, value)
                if value <= 0:
                    raise ValueError(f"{name} must be positive (or None), got {value!r}")
        if not 0 <= self.zero_page_fraction < 1:
            raise ValueError(f"zero_page_fraction must be in [0, 1), got {self.zero_page_fraction!r}")
        if self.profile not in PROFILES:
            raise ValueError(f"profile must be one of {', '.join(PROFILES)}, got {self.profile!r}")
        if self.switchover_bandwidth_bps is not None:
            _finite("switchover_bandwidth_bps", self.switchover_bandwidth_bps)
            if self.switchover_bandwidth_bps <= 0:
                raise ValueError(
                    f"switchover_bandwidth_bps must be positive (or None), got {self.switchover_bandwidth_bps!r}"
                )

    @property
    def working_set(self) -> float:
        """The writable working set in bytes (``memory_bytes`` when not given)."""
        return self.memory_bytes if self.working_set_bytes is None else self.working_set_bytes

    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-able dict; ``PrecopyParams(**d)`` rebuilds the same params. Every field is a number, a
        string or None, so a flat copy is the same as ``asdict`` (which deep-copies: ~10x slower, and the driver
        saves every running migration's params at every step)."""
        return {name: getattr(self, name) for name in _FIELDS}

    def _replace_checked_elsewhere(self, **changes: Any) -> PrecopyParams:
        """A copy with ``changes``, without running the validation again: only for values that were
        validated elsewhere (a :class:`LinkSpec`'s ``rtt_s``, ``loss``, ``compression_ratio``). About 10x
        cheaper than :func:`dataclasses.replace`, which matters for a wave of 100,000."""
        new = object.__new__(PrecopyParams)
        for name in _FIELDS:
            object.__setattr__(new, name, changes[name] if name in changes else getattr(self, name))
        return new


_FIELDS = tuple(f.name for f in fields(PrecopyParams))


@dataclass(frozen=True, slots=True)
class LinkSpec:
    """One WAN link shared by the migrations of a wave.

    - ``bandwidth_bps``: raw capacity, shared by water-filling between the migrations on the wire.
    - ``rtt_s`` (round-trip time) and ``loss`` (fraction of packets lost, 0 <= loss < 1) are the
      path's: in :func:`~migration.engine.plan_wave` they replace every migration's own ``rtt_s`` and
      ``loss``, so each migration's TCP limits (window / RTT, Mathis) cap its share of the link.
    - ``compression_ratio``: when set, the WAN optimiser's ratio replaces every migration's own
      ``compression_ratio``; ``None`` keeps each migration's value.
    """

    bandwidth_bps: float
    rtt_s: float = 0.0
    compression_ratio: float | None = None
    loss: float = 0.0

    def __post_init__(self) -> None:
        _finite("bandwidth_bps", self.bandwidth_bps)
        _finite("rtt_s", self.rtt_s)
        _finite("loss", self.loss)
        if self.bandwidth_bps <= 0:
            raise ValueError(f"link bandwidth_bps must be positive, got {self.bandwidth_bps!r}")
        if self.rtt_s < 0:
            raise ValueError(f"link rtt_s must be >= 0, got {self.rtt_s!r}")
        if not 0 <= self.loss < 1:
            raise ValueError(f"link loss must be in [0, 1), got {self.loss!r}")
        if self.compression_ratio is not None:
            _finite("compression_ratio", self.compression_ratio)
            if self.compression_ratio < 1:
                raise ValueError(f"link compression_ratio must be >= 1, got {self.compression_ratio!r}")
