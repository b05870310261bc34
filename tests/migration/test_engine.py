"""The live-migration engine (migration/engine): plain pytest, no database, no Django."""

from __future__ import annotations

import json
import random
from dataclasses import replace

import pytest

from migration.engine import (
    LinkSpec,
    PrecopyParams,
    PrecopySimulation,
    fair_shares,
    plan_wave,
    simulate_precopy,
)

GiB = 2**30
MiB = 2**20
GBIT = 125e6  # 1 Gbit/s in bytes per second


def worked_example(**overrides) -> PrecopyParams:
    kw = dict(memory_bytes=GiB, dirty_rate_bps=25e6, bandwidth_bps=GBIT, max_downtime_s=0.3)
    kw.update(overrides)
    return PrecopyParams(**kw)


def rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-300)


def step_randomly(params: PrecopyParams, seed: int, max_step: float) -> PrecopySimulation:
    rng = random.Random(seed)
    sim = PrecopySimulation(params)
    while not sim.done:
        sim.advance(rng.uniform(0, max_step), params.bandwidth_bps)
    return sim


def assert_same_run(a, b, tol: float = 1e-9) -> None:
    assert a.outcome == b.outcome
    assert len(a.rounds) == len(b.rounds)
    for ra, rb in zip(a.rounds, b.rounds, strict=True):
        assert ra.index == rb.index
        assert rel(ra.bytes, rb.bytes) < tol
        assert rel(ra.duration_s, rb.duration_s) < tol
        assert abs(ra.start_s - rb.start_s) <= tol * max(1.0, rb.start_s)
    for name in ("total_time_s", "downtime_s", "bytes_sent", "storage_bytes", "storage_time_s", "throttle"):
        assert abs(getattr(a, name) - getattr(b, name)) <= tol * max(1.0, abs(getattr(b, name))), name


# --------------------------------------------------------------------------- the model


def test_worked_example_matches_design():
    r = simulate_precopy(worked_example())
    assert [rnd.index for rnd in r.rounds] == [0, 1, 2]
    # The design prints MB with one decimal (truncated): within 0.1 MB of it, and to 0.1 % of the exact value.
    exact = (GiB, 25e6 * GiB / GBIT, 25e6 * 25e6 * GiB / GBIT**2)
    for rnd, mb, x in zip(r.rounds, (1073.7, 214.7, 42.9), exact, strict=True):
        assert abs(rnd.bytes / 1e6 - mb) < 0.1
        assert rel(rnd.bytes, x) < 1e-3
    assert rel(r.stop_copy_bytes / 1e6, 8.6) < 1e-2  # 8.59 MB, printed to one decimal in the design
    assert rel(r.stop_copy_bytes, 8.589934592e6) < 1e-3
    assert rel(r.downtime_s, 0.0687) < 1e-3
    assert rel(r.total_time_s, 10.72) < 1e-3
    assert rel(r.bytes_sent / GiB, 1.248) < 1e-3
    assert r.converged and r.outcome == "converged" and r.ended_by == "converged"
    assert r.throttle == 0.0 and r.policy is None
    assert "Converged after 3 pre-copy rounds" in r.reason


def test_rounds_chain_start_times_and_durations():
    r = simulate_precopy(worked_example())
    t = 0.0
    for rnd in r.rounds:
        assert rel(rnd.start_s + 1e-300, t + 1e-300) < 1e-12
        assert rel(rnd.duration_s, rnd.bytes / GBIT) < 1e-12
        t += rnd.duration_s
    assert rel(r.total_time_s, t + r.downtime_s) < 1e-12


def test_guest_that_fits_the_budget_needs_no_precopy_round():
    r = simulate_precopy(PrecopyParams(memory_bytes=30e6, bandwidth_bps=GBIT, dirty_rate_bps=1e9))
    assert r.rounds == ()
    assert r.converged and rel(r.downtime_s, 30e6 / GBIT) < 1e-12


def test_switchover_overhead_adds_to_downtime_and_total():
    base = simulate_precopy(worked_example())
    r = simulate_precopy(worked_example(switchover_overhead_s=0.05))
    assert rel(r.downtime_s, base.downtime_s + 0.05) < 1e-9
    assert rel(r.total_time_s, base.total_time_s + 0.05) < 1e-9


def fast_dirtier(**overrides) -> PrecopyParams:
    # Dirties 2.4x faster than the link can send: never converges without help.
    kw = dict(memory_bytes=4 * GiB, bandwidth_bps=GBIT, dirty_rate_bps=300e6, max_downtime_s=0.3)
    kw.update(overrides)
    return PrecopyParams(**kw)


def test_throttle_policy_makes_a_fast_dirtying_guest_converge():
    r = simulate_precopy(fast_dirtier())
    assert r.outcome == "converged" and r.converged
    assert r.ended_by == "max_total_factor" and r.policy == "throttle"
    assert 0.2 <= r.throttle <= 0.99 and r.throttled_rounds >= 1
    assert r.downtime_s <= 0.3 + 1e-9
    throttles = [rnd.throttle for rnd in r.rounds if rnd.throttle > 0]
    assert throttles[0] == pytest.approx(0.2)
    assert all(b - a == pytest.approx(0.1) or b == 0.99 for a, b in zip(throttles, throttles[1:], strict=False))
    assert f"{r.throttle:.0%}" in r.reason and "throttle" in r.reason and "max_total_factor" in r.reason
    # The throttled rounds dirty at the reduced rate.
    for rnd in r.rounds:
        assert rnd.dirty_rate_bps == pytest.approx(300e6 * (1 - rnd.throttle))


def test_throttle_gives_up_after_max_throttle_rounds_and_forces_the_stop_and_copy():
    # Even at 99 % throttle the guest dirties 2x the bandwidth, and its working set is all memory.
    r = simulate_precopy(fast_dirtier(dirty_rate_bps=25e9, max_throttle_rounds=12))
    assert r.outcome == "forced" and not r.converged
    assert r.throttle == pytest.approx(0.99) and r.throttled_rounds == 12
    assert r.downtime_s > 0.3
    assert "max_throttle_rounds" in r.reason


def test_force_policy_stops_the_guest_anyway_with_a_long_downtime():
    r = simulate_precopy(fast_dirtier(on_no_convergence="force"))
    assert r.outcome == "forced" and not r.converged
    assert r.policy == "force" and r.throttle == 0.0
    assert r.downtime_s > 1.0  # seconds, far over the 0.3 s budget
    assert rel(r.downtime_s, r.stop_copy_bytes / GBIT) < 1e-9
    assert "'force'" in r.reason and "exceeds" in r.reason


def test_abort_policy_leaves_the_workload_on_its_source():
    r = simulate_precopy(fast_dirtier(on_no_convergence="abort"))
    assert r.outcome == "aborted" and not r.converged
    assert r.downtime_s == 0.0 and r.stop_copy_bytes == 0.0
    assert r.bytes_sent > 3 * 4 * GiB  # what was spent is still reported
    assert r.total_time_s == pytest.approx(sum(rnd.duration_s for rnd in r.rounds))
    assert "stays on its source" in r.reason


def test_max_rounds_cap_is_named_when_it_ends_precopy():
    # Ratio 0.9: shrinks slowly, would need ~40 rounds; max_total_factor is out of the way.
    r = simulate_precopy(
        worked_example(dirty_rate_bps=0.9 * GBIT, max_rounds=5, max_total_factor=100, on_no_convergence="abort")
    )
    assert r.ended_by == "max_rounds" and len(r.rounds) == 5
    assert "max_rounds (5 rounds)" in r.reason


def test_dirty_bytes_never_exceed_the_working_set():
    ws = 100e6
    r = simulate_precopy(worked_example(memory_bytes=8 * GiB, dirty_rate_bps=200e6, working_set_bytes=ws))
    assert all(rnd.dirtied_bytes <= ws for rnd in r.rounds)
    assert all(rnd.bytes <= ws for rnd in r.rounds[1:])
    assert r.stop_copy_bytes <= ws
    # A small working set bounds the rounds even for a guest dirtying faster than the link.
    assert r.rounds[1].bytes == ws


def test_compression_ratio_two_halves_the_time_of_an_idle_guest():
    plain = simulate_precopy(PrecopyParams(memory_bytes=4 * GiB, bandwidth_bps=GBIT))
    packed = simulate_precopy(PrecopyParams(memory_bytes=4 * GiB, bandwidth_bps=GBIT, compression_ratio=2.0))
    assert rel(packed.total_time_s, plain.total_time_s / 2) < 1e-12
    assert packed.bytes_sent == plain.bytes_sent
    assert rel(packed.wire_bytes, plain.wire_bytes / 2) < 1e-12


def test_compression_also_applies_to_the_downtime_test():
    # 60 MB dirty at the end: over a 1 Gbit/s x 0.3 s budget (37.5 MB), within it at ratio 2 (75 MB).
    p = dict(memory_bytes=60e6, bandwidth_bps=GBIT, dirty_rate_bps=0)
    assert len(simulate_precopy(PrecopyParams(**p)).rounds) == 1
    assert len(simulate_precopy(PrecopyParams(**p, compression_ratio=2.0)).rounds) == 0


def test_storage_phase_copies_the_disk_first_and_mirrors_writes():
    disk, writes = 20e9, 10e6
    base = simulate_precopy(worked_example())
    r = simulate_precopy(worked_example(disk_bytes=disk, disk_write_rate_bps=writes))
    assert rel(r.storage_time_s, disk / (GBIT - writes)) < 1e-12
    assert r.rounds[0].start_s == pytest.approx(r.storage_time_s)
    # Writes keep being mirrored during pre-copy, then the guest is paused.
    mirrored = writes * (r.storage_time_s + r.precopy_time_s)
    assert rel(r.storage_bytes, disk + mirrored) < 1e-9
    assert rel(r.bytes_sent, r.memory_bytes_sent + r.storage_bytes) < 1e-12
    assert r.total_time_s > base.total_time_s + disk / GBIT
    assert r.rounds[0].duration_s == pytest.approx(GiB / (GBIT - writes))
    assert "Storage moved first" in r.reason


def test_storage_without_guest_writes_is_a_plain_copy():
    r = simulate_precopy(worked_example(disk_bytes=10e9))
    assert rel(r.storage_time_s, 10e9 / GBIT) < 1e-12 and r.storage_bytes == 10e9
    base = simulate_precopy(worked_example())
    assert rel(r.total_time_s, base.total_time_s + 10e9 / GBIT) < 1e-12


def test_mirrored_writes_never_take_more_than_half_the_bandwidth():
    r = simulate_precopy(worked_example(disk_bytes=10e9, disk_write_rate_bps=10 * GBIT))
    assert rel(r.storage_time_s, 10e9 / (GBIT / 2)) < 1e-12


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(memory_bytes=0), "memory_bytes must be positive"),
        (dict(bandwidth_bps=-1), "bandwidth_bps must be positive"),
        (dict(compression_ratio=0.5), "compression_ratio must be >= 1"),
        (dict(on_no_convergence="pray"), "on_no_convergence must be one of throttle, force, abort"),
        (dict(working_set_bytes=2 * GiB), "working_set_bytes must be between 0 and memory_bytes"),
        (dict(max_rounds=0), "max_rounds must be an integer >= 1"),
        (dict(dirty_rate_bps=float("nan")), "dirty_rate_bps must be a finite number"),
        (dict(disk_bytes=-5), "disk_bytes must be >= 0"),
    ],
)
def test_invalid_params_raise_a_clear_value_error(overrides, message):
    with pytest.raises(ValueError, match=message):
        worked_example(**overrides)


def test_invalid_link_and_concurrency_raise_value_error():
    with pytest.raises(ValueError, match="link bandwidth_bps must be positive"):
        LinkSpec(bandwidth_bps=0)
    with pytest.raises(ValueError, match="loss"):
        LinkSpec(bandwidth_bps=GBIT, loss=1.0)
    with pytest.raises(ValueError, match="max_concurrent"):
        plan_wave(LinkSpec(bandwidth_bps=GBIT), [worked_example()], max_concurrent=0)


def test_results_are_deterministic():
    params = [fast_dirtier(), worked_example(disk_bytes=1e9, disk_write_rate_bps=5e6), worked_example()]
    assert [simulate_precopy(p) for p in params] == [simulate_precopy(p) for p in params]
    link = LinkSpec(bandwidth_bps=GBIT, rtt_s=0.07)
    assert plan_wave(link, params * 4, 3) == plan_wave(link, params * 4, 3)


def test_result_serialises_to_json():
    r = simulate_precopy(fast_dirtier())
    d = json.loads(json.dumps(r.to_dict()))
    assert d["outcome"] == "converged" and len(d["rounds"]) == len(r.rounds)
    assert d["rounds"][0]["bytes"] == r.rounds[0].bytes


# --------------------------------------------------------------------------- the steppable core

STEPPED_CASES = {
    "worked example": worked_example(),
    "throttled": fast_dirtier(),
    "forced": fast_dirtier(on_no_convergence="force"),
    "aborted": fast_dirtier(on_no_convergence="abort"),
    "storage": worked_example(disk_bytes=5e9, disk_write_rate_bps=8e6, switchover_overhead_s=0.2),
    "compressed": worked_example(compression_ratio=1.7, working_set_bytes=100e6, dirty_rate_bps=80e6),
    "tiny": PrecopyParams(memory_bytes=1e6, bandwidth_bps=GBIT),
}


@pytest.mark.parametrize("name", sorted(STEPPED_CASES))
@pytest.mark.parametrize("max_step", [0.013, 0.7, 5.0, 1e6])
def test_stepping_in_random_increments_equals_the_closed_run(name, max_step):
    params = STEPPED_CASES[name]
    closed = simulate_precopy(params)
    for seed in range(3):
        assert_same_run(step_randomly(params, seed, max_step).result(), closed)


def test_one_huge_step_crosses_every_round():
    sim = PrecopySimulation(worked_example())
    events = sim.advance(1e9, GBIT)
    assert sim.done and sim.elapsed_s == pytest.approx(10.72, rel=1e-3)
    kinds = [e.kind for e in events]
    assert kinds.count("round_completed") == 3
    assert [e.phase for e in events if e.kind == "phase_changed"] == ["switchover", "done"]
    assert events[-1].kind == "finished" and events[-1].detail == "converged"
    assert_same_run(sim.result(), simulate_precopy(worked_example()))


def test_stepping_to_each_boundary_reports_phases_in_order():
    sim = PrecopySimulation(worked_example(disk_bytes=1e9, switchover_overhead_s=0.1))
    assert sim.phase == "storage" and sim.dirty_remaining_bytes == GiB
    phases = [sim.phase]
    rounds_seen = []
    while not sim.done:
        dt = sim.time_to_next_boundary(GBIT)
        for e in sim.advance(dt, GBIT):
            if e.kind == "phase_changed":
                phases.append(e.phase)
            if e.kind == "round_completed":
                rounds_seen.append(e.round.index)
                assert e.to_dict()["round"]["index"] == e.round.index
    assert phases == ["storage", "precopy", "switchover", "done"]
    assert rounds_seen == [0, 1, 2]
    assert sim.time_to_next_boundary(GBIT) == float("inf")


def test_progress_counters_are_monotonic_while_stepping():
    sim = PrecopySimulation(worked_example(disk_bytes=2e9, disk_write_rate_bps=5e6))
    rng = random.Random(7)
    last_mem = last_all = last_t = -1.0
    while not sim.done:
        sim.advance(rng.uniform(0, 0.5), rng.choice([GBIT, GBIT / 3, 2 * GBIT]))
        assert sim.memory_sent_bytes >= last_mem and sim.bytes_sent >= last_all and sim.elapsed_s > last_t
        assert sim.dirty_remaining_bytes >= 0
        last_mem, last_all, last_t = sim.memory_sent_bytes, sim.bytes_sent, sim.elapsed_s
    assert sim.memory_sent_bytes == pytest.approx(sim.result().memory_bytes_sent)


def test_a_slower_share_mid_round_lengthens_that_round():
    sim = PrecopySimulation(worked_example())
    sim.advance(4.0, GBIT)  # half-way through round 0 (8.59 s at full speed)
    assert sim.current_round == 0
    sim.advance(1e6, GBIT / 2)
    r = sim.result()
    assert r.rounds[0].duration_s == pytest.approx(4.0 + (GiB - 4.0 * GBIT) / (GBIT / 2))
    # The guest dirtied for longer, so round 1 is bigger than in the closed run.
    assert r.rounds[1].bytes > simulate_precopy(worked_example()).rounds[1].bytes


def test_zero_bandwidth_lets_time_pass_without_progress():
    sim = PrecopySimulation(worked_example())
    sim.advance(1.0, GBIT)
    sent = sim.memory_sent_bytes
    sim.advance(30.0, 0.0)
    assert sim.memory_sent_bytes == sent and sim.elapsed_s == pytest.approx(31.0)
    assert sim.time_to_next_boundary(0.0) == float("inf")


def test_result_before_the_end_is_an_error():
    with pytest.raises(RuntimeError, match="not finished"):
        PrecopySimulation(worked_example()).result()


@pytest.mark.parametrize("name", sorted(STEPPED_CASES))
def test_state_round_trip_mid_migration_continues_identically(name):
    params = STEPPED_CASES[name]
    rng = random.Random(3)
    sim = PrecopySimulation(params)
    for _ in range(5):
        sim.advance(rng.uniform(0, 2.0), params.bandwidth_bps)
    state = json.loads(json.dumps(sim.to_state()))  # what the driver stores in the database
    clone = PrecopySimulation.from_state(state)
    assert clone.to_state() == sim.to_state()
    assert clone.phase == sim.phase and clone.memory_sent_bytes == sim.memory_sent_bytes
    for dt in (0.3, 1.1, 7.0, 1e6):
        assert clone.advance(dt, params.bandwidth_bps) == sim.advance(dt, params.bandwidth_bps)
    assert clone.result() == sim.result()


def test_unknown_state_version_is_rejected():
    state = PrecopySimulation(worked_example()).to_state()
    state["version"] = 99
    with pytest.raises(ValueError, match="version"):
        PrecopySimulation.from_state(state)


def test_advance_rejects_negative_steps_and_bandwidths():
    sim = PrecopySimulation(worked_example())
    with pytest.raises(ValueError, match="dt_s"):
        sim.advance(-1.0, GBIT)
    with pytest.raises(ValueError, match="bandwidth_bps"):
        sim.advance(1.0, float("inf"))


# --------------------------------------------------------------------------- waves on one link


def test_a_wave_of_one_equals_simulate_precopy():
    p = worked_example(switchover_overhead_s=0.1)
    w = plan_wave(LinkSpec(bandwidth_bps=GBIT, rtt_s=0.07), [p])
    # The link's RTT applies to the migration (its slow-start ramp here: buffers are BDP-sized).
    item, alone = w.items[0], simulate_precopy(replace(p, rtt_s=0.07))
    assert alone.slow_start_s > 0 and item.result.slow_start_s == alone.slow_start_s
    assert item.start_s == 0.0 and rel(item.end_s, alone.total_time_s) < 1e-12
    # Alone on a link as fast as its NIC: the same run; in the wave the tie is named after the NIC.
    naming = {"limit", "share_bps"}
    assert replace(item.result, **{k: None for k in naming}) == replace(alone, **{k: None for k in naming})
    assert (alone.limit, item.result.limit) == ("link", "nic")
    assert item.rounds == 3 and w.makespan_s == item.end_s


def test_two_identical_migrations_started_together_each_take_twice_as_long_as_one():
    p = PrecopyParams(memory_bytes=4 * GiB, bandwidth_bps=GBIT)
    link = LinkSpec(bandwidth_bps=GBIT)  # no RTT: no slow-start ramp, which would not double
    one = plan_wave(link, [p]).items[0]
    two = plan_wave(link, [p, p]).items
    for item in two:
        assert item.start_s == 0.0
        assert rel(item.duration_s, 2 * one.duration_s) < 1e-12


def test_dirtying_migrations_sharing_a_link_behave_as_alone_at_half_bandwidth():
    p = worked_example()
    pair = plan_wave(LinkSpec(bandwidth_bps=GBIT), [p, p]).items
    half = simulate_precopy(worked_example(bandwidth_bps=GBIT / 2))
    for item in pair:
        assert rel(item.duration_s, half.total_time_s) < 1e-9
        assert len(item.result.rounds) == len(half.rounds)
    # Slower rounds give the guest more time to dirty memory: more than twice as long.
    assert pair[0].duration_s > 2 * simulate_precopy(p).total_time_s


def test_the_concurrency_limit_queues_the_ninth_until_the_first_ends():
    sizes = [GiB * (k + 1) for k in range(9)]
    w = plan_wave(
        LinkSpec(bandwidth_bps=10 * GBIT),
        [PrecopyParams(memory_bytes=s, bandwidth_bps=10 * GBIT) for s in sizes],
        max_concurrent=8,
    )
    assert all(item.start_s == 0.0 for item in w.items[:8])
    first_end = min(item.end_s for item in w.items[:8])
    assert first_end == w.items[0].end_s
    assert w.items[8].start_s == first_end
    # While 8 ran, each had 1/8 of the link.
    assert rel(w.items[0].end_s, GiB / (10 * GBIT / 8)) < 1e-12


def test_queued_migrations_start_in_input_order():
    ps = [PrecopyParams(memory_bytes=GiB, bandwidth_bps=GBIT) for _ in range(7)]
    w = plan_wave(LinkSpec(bandwidth_bps=GBIT), ps, max_concurrent=2)
    starts = [item.start_s for item in w.items]
    assert starts == sorted(starts)
    assert rel(w.makespan_s, 7 * GiB / GBIT) < 1e-12


def test_a_nic_cap_limits_a_share_and_the_rest_goes_to_the_others():
    assert fair_shares(1000.0, [100.0, 5000.0]) == [100.0, 900.0]
    assert fair_shares(1000.0, [100.0, 200.0, 5000.0]) == [100.0, 200.0, 700.0]
    assert fair_shares(1000.0, [100.0, 100.0]) == [100.0, 100.0]
    slow = PrecopyParams(memory_bytes=GiB, bandwidth_bps=GBIT / 10)  # a 100 Mbit/s NIC
    fast = PrecopyParams(memory_bytes=4 * GiB, bandwidth_bps=10 * GBIT)
    w = plan_wave(LinkSpec(bandwidth_bps=GBIT), [slow, fast])
    assert rel(w.items[0].end_s, GiB / (GBIT / 10)) < 1e-12
    # fast gets the 0.9 Gbit/s that slow cannot use, not an equal half.
    assert rel(w.items[1].end_s, 4 * GiB / (0.9 * GBIT)) < 1e-9


def test_a_migration_in_switchover_overhead_leaves_its_share_to_the_others():
    a = PrecopyParams(memory_bytes=GiB, bandwidth_bps=GBIT, switchover_overhead_s=2.0)
    b = PrecopyParams(memory_bytes=4 * GiB, bandwidth_bps=GBIT)
    w = plan_wave(LinkSpec(bandwidth_bps=GBIT), [a, b])
    assert rel(w.items[1].end_s, 5 * GiB / GBIT) < 1e-9  # b used the whole link during a's overhead
    assert rel(w.items[0].end_s, 2 * GiB / GBIT + 2.0) < 1e-9


def test_link_loss_and_compression_apply_to_the_wave():
    p = PrecopyParams(memory_bytes=4 * GiB, bandwidth_bps=10 * GBIT)
    # Loss is not a linear tax: without an RTT (a LAN, in the model) it costs nothing...
    assert rel(plan_wave(LinkSpec(bandwidth_bps=GBIT, loss=0.2), [p]).makespan_s, 4 * GiB / GBIT) < 1e-12
    # ...over 50 ms at 0.1 % one stream carries sqrt(1.5) x 1460 B / (50 ms x sqrt(0.001)) (Mathis).
    lossy = plan_wave(LinkSpec(bandwidth_bps=GBIT, rtt_s=0.05, loss=0.001), [p])
    mathis = 1.5**0.5 * 1460 / (0.05 * 0.001**0.5)
    ramp = lossy.items[0].result.slow_start_s
    assert lossy.items[0].result.limit == "loss"
    assert rel(lossy.makespan_s, ramp + 4 * GiB / mathis) < 1e-12
    packed = plan_wave(LinkSpec(bandwidth_bps=GBIT, compression_ratio=2.0), [p])
    assert rel(packed.makespan_s, 4 * GiB / (2 * GBIT)) < 1e-12
    assert packed.items[0].bytes_sent == 4 * GiB and packed.total_wire_bytes == 2 * GiB


def test_an_empty_wave_has_zero_makespan():
    w = plan_wave(LinkSpec(bandwidth_bps=GBIT), [])
    assert w.items == () and w.makespan_s == 0.0


# --------------------------------------------------------------------------- published measurements


def test_reproduces_clark_2005_specweb_migration_in_a_plausible_range():
    """Clark et al., NSDI 2005: a SPECweb99 server migrated with 210 ms of downtime, the whole
    migration taking about a minute over a rate-limited gigabit link (the paper's Xen pre-copy
    ran at 100-500 Mbit/s). A 800 MiB guest at 100 Mbit/s with a modest writable working set."""
    r = simulate_precopy(
        PrecopyParams(
            memory_bytes=800 * MiB, bandwidth_bps=12.5e6, dirty_rate_bps=5e6, working_set_bytes=60e6, max_downtime_s=0.3
        )
    )
    assert r.converged
    assert 50 <= r.total_time_s <= 100
    assert 0.05 <= r.downtime_s <= 0.3
    assert 3 <= len(r.rounds) <= 10


def test_reproduces_a_sub_100_ms_downtime_for_a_small_interactive_server():
    """Clark et al. report 60 ms of downtime for a Quake 3 server: a small guest whose hot pages
    are few. 64 MiB, 5 MB writable working set, 1 Gbit/s."""
    r = simulate_precopy(
        PrecopyParams(
            memory_bytes=64 * MiB, bandwidth_bps=GBIT, dirty_rate_bps=20e6, working_set_bytes=5e6, max_downtime_s=0.1
        )
    )
    assert r.converged and 0.005 <= r.downtime_s <= 0.1
    assert r.total_time_s < 2.0
