"""The committed QEMU runs, translated into engine inputs and compared with the engine's prediction.

Used by ``bench/qemu/report.py`` and ``tests/migration/test_qemu_calibration.py`` (one translation,
not two). Pure: reads ``bench/qemu/results/*.json`` and calls :func:`migration.engine.simulate_precopy`.

Translation of one run into :class:`~migration.engine.PrecopyParams` (only what an operator knows
before the move, plus the two guest properties the harness measures):

- ``memory_bytes`` = ``ram.total`` (every migratable RAM block: guest RAM plus BIOS/option ROMs);
- ``bandwidth_bps`` = QMP ``max-bandwidth``; ``max_downtime_s`` = ``downtime-limit`` / 1000;
- ``dirty_rate_bps`` = :func:`guest_rate_bps`, the rate the guest's dirtier reported on its console
  (once a second) during the migration while it was not throttled (the two seconds measured before
  the migration, right after boot on a loaded host, were up to 25 % off the rate it then kept);
  ``working_set_bytes`` = its working set (``None`` for an idle guest, rate 0);
- ``zero_page_fraction`` = ``ram.duplicate`` x page size / ``ram.total`` (zero pages, sent as
  headers);
- ``rtt_s`` and ``socket_buffer_bytes`` = the relay's RTT and window (one stream, no loss);
- ``switchover_bandwidth_bps`` = the path's line rate (``path_line_rate_bps``: one stream through
  the relay without delay, measured by the harness at the start of the grid), the rate QEMU's
  stop-and-copy can reach once ``max-bandwidth`` no longer holds it;
- ``profile``: ``"qemu"`` (QEMU's rules) or ``"generic"`` (the textbook model, for comparison);
- auto-converge on -> ``on_no_convergence="throttle"`` with QEMU's ``cpu-throttle-initial`` /
  ``-increment`` / ``max-cpu-throttle``; off -> ``"force"`` (QEMU itself would iterate forever; no
  committed run needs it).

Measured: ``total-time`` (setup included), ``ram.transferred`` (compared with the engine's
``wire_bytes``: zero pages as headers), and the rounds as
``dirty-sync-count - 2`` (one bitmap sync at setup, one after each pass, one at completion).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
ROOT = HERE.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from migration.engine import PrecopyParams, PrecopyResult, simulate_precopy  # noqa: E402

MiB = 2**20
#: Tolerances the calibration test holds the engine to.
TIME_TOLERANCE = 0.10
BYTES_TOLERANCE = 0.10
ROUND_TOLERANCE = 1


def load_runs(results_dir: Path = RESULTS) -> list[dict[str, Any]]:
    """Every committed run record, sorted by name."""
    return [json.loads(p.read_text()) for p in sorted(results_dir.glob("*.json"))]


def usable(run: dict[str, Any]) -> bool:
    """A run the engine is held to: it completed and the guest went on running on the destination."""
    return (
        run.get("error") is None and run.get("status") == "completed" and bool(run.get("final", {}).get("total-time"))
    )


def guest_rate_bps(run: dict[str, Any]) -> float:
    """The guest's own dirty rate: the mean of the rates its dirtier reported on the source's
    console during the migration while unthrottled (``cpu-throttle-percentage`` 0 in the QMP
    series), leaving out the second in which the migration started (setup starts dirty logging);
    the steady seconds before the migration when there are fewer than two such samples."""
    series = run.get("series", [])
    end = series[-1]["t"] if series else 0.0
    throttled = [s["t"] for s in series if s.get("cpu-throttle-percentage", 0) > 0]
    until = min(end, throttled[0] if throttled else end)
    during = [rate for t, _, rate in run.get("guest_rates_source", []) if 1.0 <= t <= until]
    if len(during) >= 2:
        return sum(during) / len(during)
    return float(run["guest_rate_before_bps"])


def params_for_run(run: dict[str, Any], profile: str = "qemu") -> PrecopyParams:
    """The engine inputs of one real run (rules in the module docstring)."""
    inputs = run["inputs"]
    ram = run["final"]["ram"]
    mp = run["migrate_parameters"]
    total = float(ram["total"])
    idle = inputs["working_set_mib"] == 0 or inputs["dirty_rate_bps"] == 0
    return PrecopyParams(
        memory_bytes=total,
        bandwidth_bps=float(mp["max-bandwidth"]),
        dirty_rate_bps=0.0 if idle else guest_rate_bps(run),
        max_downtime_s=mp["downtime-limit"] / 1000.0,
        working_set_bytes=None if idle else float(inputs["working_set_mib"] * MiB),
        zero_page_fraction=min(0.99, ram["duplicate"] * ram.get("page-size", 4096) / total),
        rtt_s=inputs["rtt_ms"] / 1000.0,
        socket_buffer_bytes=float(inputs["window_bytes"]),
        on_no_convergence="throttle" if inputs["auto_converge"] else "force",
        throttle_initial=mp["cpu-throttle-initial"] / 100.0,
        throttle_increment=mp["cpu-throttle-increment"] / 100.0,
        throttle_max=mp["max-cpu-throttle"] / 100.0,
        switchover_bandwidth_bps=float(run["path_line_rate_bps"]),
        profile=profile,
    )


@dataclass(frozen=True)
class Comparison:
    """One real run beside the engine's prediction of it."""

    name: str
    profile: str
    measured_time_s: float
    predicted_time_s: float
    measured_bytes: float
    predicted_bytes: float
    measured_rounds: int
    predicted_rounds: int
    measured_downtime_s: float
    predicted_downtime_s: float
    measured_max_throttle: float
    predicted_throttle: float
    result: PrecopyResult

    @property
    def time_error(self) -> float:
        return (self.predicted_time_s - self.measured_time_s) / self.measured_time_s

    @property
    def bytes_error(self) -> float:
        return (self.predicted_bytes - self.measured_bytes) / self.measured_bytes

    @property
    def round_error(self) -> int:
        return self.predicted_rounds - self.measured_rounds

    @property
    def within_tolerance(self) -> bool:
        return (
            abs(self.time_error) <= TIME_TOLERANCE
            and abs(self.bytes_error) <= BYTES_TOLERANCE
            and abs(self.round_error) <= ROUND_TOLERANCE
        )

    def drift(self) -> str:
        """What is off, in words (empty when within tolerance)."""
        parts = []
        if abs(self.time_error) > TIME_TOLERANCE:
            parts.append(
                f"total time {self.predicted_time_s:.2f} s predicted vs {self.measured_time_s:.2f} s measured "
                f"({self.time_error:+.1%}, tolerance {TIME_TOLERANCE:.0%})"
            )
        if abs(self.bytes_error) > BYTES_TOLERANCE:
            parts.append(
                f"bytes {self.predicted_bytes / 1e6:.1f} MB predicted vs {self.measured_bytes / 1e6:.1f} MB "
                f"measured ({self.bytes_error:+.1%}, tolerance {BYTES_TOLERANCE:.0%})"
            )
        if abs(self.round_error) > ROUND_TOLERANCE:
            parts.append(
                f"rounds {self.predicted_rounds} predicted vs {self.measured_rounds} measured "
                f"(dirty-sync-count - 2; tolerance {ROUND_TOLERANCE})"
            )
        return "; ".join(parts)


def compare(run: dict[str, Any], profile: str = "qemu") -> Comparison:
    """Predict one real run with the engine and put both side by side."""
    final = run["final"]
    ram = final["ram"]
    result = simulate_precopy(params_for_run(run, profile))
    throttles = [s.get("cpu-throttle-percentage", 0) for s in run.get("series", [])]
    return Comparison(
        name=run["name"],
        profile=profile,
        measured_time_s=final["total-time"] / 1000.0,
        predicted_time_s=result.total_time_s,
        measured_bytes=float(ram["transferred"]),
        predicted_bytes=result.wire_bytes,
        measured_rounds=int(ram["dirty-sync-count"]) - 2,
        predicted_rounds=len(result.rounds),
        measured_downtime_s=final["downtime"] / 1000.0,
        predicted_downtime_s=result.downtime_s,
        measured_max_throttle=max(throttles, default=0) / 100.0,
        predicted_throttle=result.throttle,
        result=result,
    )
