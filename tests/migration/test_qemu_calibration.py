"""The engine held to real QEMU 7.2 live migrations measured on these machines (bench/qemu/results).

No QEMU is needed here: ``make calibrate`` ran the migrations and committed one JSON record per run;
``bench/qemu/calibration.py`` translates each run's inputs into ``PrecopyParams`` (profile "qemu")
and this test replays them through the engine. When the engine drifts, the failure names the real
run and by how much.
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("qemu_calibration", ROOT / "bench" / "qemu" / "calibration.py")
cal = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("qemu_calibration", cal)
_spec.loader.exec_module(cal)

RUNS = cal.load_runs()
USABLE = [r for r in RUNS if cal.usable(r)]


def test_the_committed_grid_is_real_and_covers_its_settings():
    assert len(RUNS) >= 20 and len(USABLE) == len(RUNS), [r["name"] for r in RUNS if not cal.usable(r)]
    inputs = [r["inputs"] for r in USABLE]
    assert {i["working_set_mib"] > 0 for i in inputs} == {True, False}, "idle and dirtying guests"
    assert len({i["max_bandwidth_bps"] for i in inputs}) >= 3
    assert len({i["downtime_limit_ms"] for i in inputs}) >= 2
    assert {i["auto_converge"] for i in inputs} == {True, False}
    assert len({(i["rtt_ms"], i["window_bytes"]) for i in inputs}) >= 2
    for r in USABLE:
        assert r["qemu_version"].startswith("QEMU emulator version 7.2"), r["name"]
        assert r["date"] and r["accel"] == "tcg" and r["load_avg_before"], r["name"]
        assert r["destination_guest_alive"] and r["destination_status"]["status"] == "running", r["name"]
        final = r["final"]
        for key in ("total-time", "downtime", "setup-time"):
            assert final[key] >= 0, (r["name"], key)
        for key in ("transferred", "duplicate", "normal", "dirty-sync-count", "mbps", "dirty-pages-rate"):
            assert key in final["ram"], (r["name"], key)
        active = [s for s in r["series"] if s["status"] == "active"]
        assert len(active) >= 5 and all("transferred" in s and "remaining" in s for s in active), r["name"]
        assert r["path_line_rate_bps"] > 0, r["name"]


def test_the_translation_of_a_run_into_engine_inputs():
    run = next(r for r in USABLE if r["inputs"]["working_set_mib"] and r["inputs"]["auto_converge"])
    p = cal.params_for_run(run)
    ram, mp, i = run["final"]["ram"], run["migrate_parameters"], run["inputs"]
    assert p.profile == "qemu" and p.memory_bytes == ram["total"]
    assert p.bandwidth_bps == mp["max-bandwidth"] and p.max_downtime_s == mp["downtime-limit"] / 1000
    assert p.rtt_s == i["rtt_ms"] / 1000 and p.socket_buffer_bytes == i["window_bytes"]
    assert p.zero_page_fraction == pytest.approx(ram["duplicate"] * 4096 / ram["total"])
    assert p.working_set_bytes == i["working_set_mib"] * 2**20 and p.on_no_convergence == "throttle"
    assert (p.throttle_initial, p.throttle_increment) == (0.2, 0.1)
    assert p.dirty_rate_bps == pytest.approx(cal.guest_rate_bps(run)) and p.dirty_rate_bps > 0
    assert p.switchover_bandwidth_bps == run["path_line_rate_bps"]
    assert cal.params_for_run(run, "generic").profile == "generic"


def _comparisons(profile: str):
    return [cal.compare(r, profile) for r in USABLE]


def test_every_real_run_is_reproduced_by_the_qemu_profile():
    """Within 10 % on total time and bytes transferred and one pass of dirty-sync-count - 2, run by
    run, except the runs listed in ``calibration.EXCUSED``: each must still show its cause in its own
    record (``calibration.evidence``), may not get worse than committed, and leaves the list once
    within tolerance. A failure names the real run and what drifted."""
    drifted = []
    for c in _comparisons("qemu"):
        if c.name not in cal.EXCUSED:
            if not c.within_tolerance:
                drifted.append(f"{c.name}: {c.drift()}")
            continue
        if c.within_tolerance:
            drifted.append(f"{c.name} is now within tolerance: remove it from calibration.EXCUSED")
        elif not cal.excuse(c):
            drifted.append(f"{c.name}: {c.drift()} (its record no longer shows {cal.EXCUSED[c.name]['cause']!r})")
        elif worse := cal.worse_than_committed(c):
            drifted.append(f"{c.name}: worse than committed: {worse}")
    assert not drifted, "the engine drifted from real QEMU runs:\n  " + "\n  ".join(drifted)


def test_the_excuse_list_is_small_and_each_cause_is_measured():
    assert len(cal.EXCUSED) <= 7 and set(cal.EXCUSED) <= {r["name"] for r in USABLE}
    by_name = {r["name"]: r for r in USABLE}
    for name, listed in cal.EXCUSED.items():
        c = cal.compare(by_name[name])
        assert cal.excuse(c), (name, listed["cause"])
    # the evidence is not vacuous: runs within tolerance mostly do not show the causes
    ok = [c for c in _comparisons("qemu") if c.within_tolerance]
    assert sum(bool(cal.evidence(c, "socket")) for c in ok) <= 1
    assert not any(cal.evidence(c, "rate") for c in ok)
    with pytest.raises(ValueError, match="unknown cause"):
        cal.evidence(ok[0], "luck")


def test_the_qemu_profile_is_what_makes_the_engine_match():
    """The generic (textbook) model on the same inputs is far off wherever QEMU's own rules matter
    (auto-converge's trigger, the pass tail, the unthrottled stop-and-copy): the profile does the work."""
    qemu, generic = _comparisons("qemu"), _comparisons("generic")
    assert sum(c.within_tolerance for c in qemu) > sum(c.within_tolerance for c in generic)
    # Where the textbook model hits its round / volume caps before throttling, QEMU throttled on its
    # own trigger long before: the qemu profile must be closer on every such run.
    capped = [(q, g) for q, g in zip(qemu, generic, strict=True) if g.result.ended_by != "converged"]
    assert len(capped) >= 4, [q.name for q, _ in capped]
    for q, g in capped:
        assert abs(q.time_error) < abs(g.time_error), f"{q.name}: qemu {q.time_error:+.1%}, generic {g.time_error:+.1%}"
        assert q.measured_max_throttle > 0 and q.predicted_throttle > 0, q.name
    assert statistics.median(abs(g.time_error) for _, g in capped) > 0.3
