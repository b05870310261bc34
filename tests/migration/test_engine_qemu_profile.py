"""The engine's "qemu" profile: QEMU 7.2's own pre-copy rules (migration/engine/qemu.py)."""

from __future__ import annotations

import math

import pytest

from migration.engine import (
    PROFILES,
    LinkSpec,
    PrecopyParams,
    PrecopySimulation,
    Round,
    plan_wave,
    simulate_precopy,
)
from migration.engine import qemu as q

MiB = 2**20
MB = 1e6


def qemu(**kw) -> PrecopyParams:
    base = {"memory_bytes": 256 * MiB, "bandwidth_bps": 31.25 * MB, "max_downtime_s": 0.3, "profile": "qemu"}
    base.update(kw)
    return PrecopyParams(**base)


def test_profiles_and_default():
    assert PROFILES == ("generic", "qemu")
    assert PrecopyParams(memory_bytes=MiB, bandwidth_bps=MB).profile == "generic"
    with pytest.raises(ValueError, match="profile must be one of generic, qemu, got 'kvm'"):
        PrecopyParams(memory_bytes=MiB, bandwidth_bps=MB, profile="kvm")
    with pytest.raises(ValueError, match="switchover_bandwidth_bps must be positive"):
        PrecopyParams(memory_bytes=MiB, bandwidth_bps=MB, switchover_bandwidth_bps=0)


def test_generic_profile_ignores_the_qemu_only_field():
    p = PrecopyParams(memory_bytes=2**30, bandwidth_bps=125e6, dirty_rate_bps=25e6)
    a = simulate_precopy(p)
    b = simulate_precopy(PrecopyParams(**{**p.to_dict(), "switchover_bandwidth_bps": 1e9}))
    assert a.total_time_s == b.total_time_s and a.downtime_s == b.downtime_s and a.rounds == b.rounds


def test_idle_guest_one_pass_tail_goes_in_the_stop_and_copy_at_line_rate():
    """An idle guest: one pass that stops when the rest fits the threshold; that tail is the
    stop-and-copy, at the line rate, not at max-bandwidth; setup costs SETUP_S first."""
    p = qemu(zero_page_fraction=0.6, switchover_bandwidth_bps=500 * MB)
    r = simulate_precopy(p)
    threshold = 31.25 * MB * 0.3
    step = 31.25 * MB * q.ITERATION_STEP_S  # one rate-limit window
    # the pending test is made once per window: the tail is what the fewest whole windows leave
    # below the threshold (here 3.125 MB short of it, not a fixed one step below it)
    tail = p.memory_bytes - math.ceil((p.memory_bytes - threshold) / step) * step
    assert threshold - step <= tail < threshold and tail != pytest.approx(threshold - step)
    assert len(r.rounds) == 1
    assert r.rounds[0].bytes == pytest.approx(p.memory_bytes - tail)
    assert r.stop_copy_bytes == pytest.approx(tail)
    # the tail is written pages (full cost), sent at 500 MB/s; the zero pages all went in the pass
    assert r.downtime_s == pytest.approx(tail / (500 * MB))
    assert r.total_time_s == pytest.approx(q.SETUP_S + (p.memory_bytes * 0.4 - tail) / (31.25 * MB) + r.downtime_s)
    assert r.wire_bytes == pytest.approx(p.memory_bytes * 0.4)
    # generic: the whole pass, then a stop-and-copy of nothing, no setup
    g = simulate_precopy(PrecopyParams(**{**p.to_dict(), "profile": "generic"}))
    assert g.rounds[0].bytes == p.memory_bytes and g.stop_copy_bytes == 0.0


def test_stop_and_copy_still_held_by_the_tcp_window():
    p = qemu(switchover_bandwidth_bps=500 * MB, rtt_s=0.04, socket_buffer_bytes=1.5 * MiB)
    r = simulate_precopy(p)
    window_rate = 1.5 * MiB / 0.04
    assert r.downtime_s == pytest.approx(r.stop_copy_bytes / window_rate)


def test_without_a_line_rate_the_stop_and_copy_runs_at_the_pass_rate():
    r = simulate_precopy(qemu())
    assert r.downtime_s == pytest.approx(r.stop_copy_bytes / (31.25 * MB))


def test_completion_test_uses_the_pass_bandwidth_not_the_stop_and_copy_rate():
    """20 MB pending after a pass: it would fit 0.3 s at the 500 MB/s line rate, but QEMU compares
    it with the pass's bandwidth x downtime-limit (9.4 MB) and goes on with another pass."""
    p = qemu(dirty_rate_bps=20 * MB, working_set_bytes=20 * MB, switchover_bandwidth_bps=500 * MB)
    r = simulate_precopy(p)
    assert len(r.rounds) >= 2
    # each decision to stop: what was pending then is below the pass-rate threshold
    assert r.stop_copy_bytes < 31.25 * MB * 0.3
    assert r.rounds[1].bytes + q.threshold_bytes(PrecopySimulation(p), p.bandwidth_bps) > 20 * MB


def test_auto_converge_starts_on_its_own_trigger_not_at_a_cap():
    """A guest dirtying 1.5x what is sent: periods of >= 1 s where dirtied > 50 % of transferred;
    the throttle starts at 20 % after two such periods and grows by 10 % every two more, long
    before max_rounds (30) or 3x memory."""
    p = qemu(dirty_rate_bps=40 * MB, working_set_bytes=48 * MiB, on_no_convergence="throttle")
    sim = PrecopySimulation(p)
    sim.advance(1e9, p.bandwidth_bps)
    r = sim.result()
    assert r.converged and r.policy == "throttle" and r.ended_by == "converged"
    throttles = [x.throttle for x in r.rounds]
    first = next(i for i, t in enumerate(throttles) if t > 0)
    assert first < 10 and r.memory_sent_ratio < 3.0
    steps = sorted(set(throttles))
    assert steps[:3] == [0.0, 0.2, 0.3]
    for a, b in zip(steps[1:], steps[2:], strict=False):
        assert b == pytest.approx(a + 0.1)
    assert "QEMU auto-converge throttled the guest's vCPUs up to" in r.reason


def test_the_trigger_needs_periods_of_a_second():
    """Passes shorter than 1 s accumulate into one period: the counter moves once per period of at
    least 1 s, so with ~84 ms passes a throttle step takes two periods, about 24 passes."""
    p = qemu(dirty_rate_bps=150 * MB, working_set_bytes=8 * MiB, bandwidth_bps=100 * MB, max_downtime_s=0.01)
    p = PrecopyParams(**{**p.to_dict(), "max_rounds": 500})
    r = simulate_precopy(p)
    throttles = [x.throttle for x in r.rounds]
    first_20 = throttles.index(0.2)
    first_30 = throttles.index(0.3)
    # pass 0 (2.7 s) is one quiet period (8 MiB dirtied vs 268 MB sent); then two 1 s periods
    assert 20 <= first_20 <= 30
    assert 20 <= first_30 - first_20 <= 28
    assert all(x.duration_s < 0.1 for x in r.rounds[1:])


def test_a_guest_under_the_trigger_ratio_is_never_throttled():
    p = qemu(dirty_rate_bps=10 * MB, working_set_bytes=32 * MiB)  # dirties 32 % of what is sent
    r = simulate_precopy(p)
    assert r.converged and r.throttle == 0.0 and r.policy is None


def test_without_auto_converge_the_generic_caps_and_policy_apply():
    p = qemu(dirty_rate_bps=60 * MB, working_set_bytes=64 * MiB, on_no_convergence="force")
    r = simulate_precopy(p)
    assert r.ended_by == "max_total_factor" and r.outcome == "forced" and r.memory_sent_ratio > 3.0
    assert r.throttle == 0.0


def test_auto_converge_hard_bound():
    p = qemu(
        dirty_rate_bps=3000 * MB, working_set_bytes=128 * MiB, throttle_max=0.3, max_rounds=5, max_throttle_rounds=5
    )
    r = simulate_precopy(p)
    assert len(r.rounds) == 10 and r.outcome == "forced" and r.throttle <= 0.3


def test_stepped_and_persisted_runs_agree_with_the_closed_run():
    p = qemu(
        dirty_rate_bps=40 * MB, working_set_bytes=48 * MiB, zero_page_fraction=0.5, switchover_bandwidth_bps=500 * MB
    )
    closed = simulate_precopy(p)
    sim = PrecopySimulation(p)
    while not sim.done:
        sim.advance(0.37, p.bandwidth_bps)
        sim = PrecopySimulation.from_state(sim.to_state())
    r = sim.result()
    assert r.total_time_s == pytest.approx(closed.total_time_s, rel=1e-9)
    assert r.wire_bytes == pytest.approx(closed.wire_bytes, rel=1e-9)
    assert len(r.rounds) == len(closed.rounds) and r.throttle == closed.throttle


def test_a_state_saved_before_the_profile_existed_still_loads():
    p = PrecopyParams(memory_bytes=2**30, bandwidth_bps=125e6, dirty_rate_bps=25e6)
    sim = PrecopySimulation(p)
    sim.advance(3.0, p.bandwidth_bps)
    state = sim.to_state()
    for key in ("tail", "period_start", "period_xfer", "period_dirty", "high_cnt"):
        del state[key]
    del state["params"]["profile"], state["params"]["switchover_bandwidth_bps"]
    resumed = PrecopySimulation.from_state(state)
    resumed.advance(1e9, p.bandwidth_bps)
    assert resumed.result().total_time_s == pytest.approx(simulate_precopy(p).total_time_s, rel=1e-12)


def test_threshold_and_rates_helpers():
    p = qemu(switchover_bandwidth_bps=500 * MB, rtt_s=0.01, socket_buffer_bytes=2 * MiB)
    assert q.switchover_rate_bps(p) == pytest.approx(min(500 * MB, 2 * MiB / 0.01))
    assert q.switchover_rate_bps(qemu()) is None
    sim = PrecopySimulation(p)
    assert q.threshold_bytes(sim, p.bandwidth_bps) == pytest.approx(31.25 * MB * 0.3)
    assert math.isclose(q.pass_rate(sim, 1e12), min(31.25 * MB, 2 * MiB / 0.01))


def test_a_wave_of_qemu_profile_migrations_alone_on_their_link_matches_the_closed_run():
    p = qemu(dirty_rate_bps=40 * MB, working_set_bytes=48 * MiB, zero_page_fraction=0.5)
    alone = plan_wave(LinkSpec(bandwidth_bps=p.bandwidth_bps), [p], max_concurrent=1).items[0]
    closed = simulate_precopy(p)
    assert alone.end_s == pytest.approx(closed.total_time_s, rel=1e-9)
    assert alone.rounds == len(closed.rounds)
    two = plan_wave(LinkSpec(bandwidth_bps=p.bandwidth_bps), [p, p], max_concurrent=2)
    assert all(item.outcome == "converged" for item in two.items)
    assert two.makespan_s > closed.total_time_s


def test_the_step_between_pending_tests_is_a_window_or_max_wait():
    """ram_save_iterate: one rate-limit window (100 ms of max-bandwidth) when max-bandwidth binds;
    MAX_WAIT (50 ms) of the slower path's rate when the TCP window binds (no sleep follows)."""
    limited = PrecopySimulation(qemu())
    assert q.step_bytes(limited, 31.25 * MB) == pytest.approx(31.25 * MB * 0.1)
    p = qemu(bandwidth_bps=62.5 * MB, rtt_s=0.04, socket_buffer_bytes=1.5 * MiB)
    window = PrecopySimulation(p)
    assert q.step_bytes(window, p.bandwidth_bps) == pytest.approx(1.5 * MiB / 0.04 * q.MAX_WAIT_S)
    # a share of a link below max-bandwidth: the rate limiter does not bind either
    assert q.step_bytes(limited, 10 * MB) == pytest.approx(10 * MB * q.MAX_WAIT_S)


def test_the_threshold_is_the_pass_rate_even_after_a_short_pass():
    """migration_update_counters measures windows, which run across pass boundaries: a pass shorter
    than a window does not lower threshold_size (the rule guessed before QEMU's source was read did)."""
    sim = PrecopySimulation(qemu(dirty_rate_bps=20 * MB, working_set_bytes=8 * MB))
    sim._rounds.append(Round(0, 0.0, 0.02, 0.5 * MB, 20 * MB, 0.0, 0.4 * MB))  # 20 ms, 0.5 MB
    assert q.threshold_bytes(sim, 31.25 * MB) == pytest.approx(31.25 * MB * 0.3)


def test_the_trigger_counts_only_pages_newly_dirty():
    """num_dirty_pages_period counts pages newly set in the bitmap: pages of the unsent tail dirtied
    again are not counted (ramblock_sync_dirty_bitmap)."""
    p = qemu(dirty_rate_bps=20 * MB, working_set_bytes=8 * MB)
    sim = PrecopySimulation(p)
    sim._elapsed, sim._period_start, sim._period_dirty = 0.5, 0.0, 0.0  # within the first 1 s period
    sim._tail = 5 * MB
    sim._rounds.append(Round(0, 0.0, 0.5, 10 * MB, 20 * MB, 0.0, 8 * MB))
    q.end_pass(sim, 8 * MB)
    # a 5 MB tail and 8 MB dirtied, all in the 8 MB working set: 8 MB pending, 3 MB of it new
    assert sim._dirty == pytest.approx(8 * MB)
    assert sim._period_dirty == pytest.approx(3 * MB)
