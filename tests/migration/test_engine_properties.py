"""Invariants of the live-migration engine, checked with hypothesis (plain pytest, no database)."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from migration.engine import LinkSpec, PrecopyParams, PrecopySimulation, plan_wave, simulate_precopy

GiB = 2**30
REL = 1e-9


@st.composite
def precopy_params(draw, *, bandwidth=None, overhead=None, allow_storage=True) -> PrecopyParams:
    memory = draw(st.floats(1e6, 64 * GiB))
    bw = bandwidth if bandwidth is not None else draw(st.floats(1e6, 1.25e10))
    ws_fraction = draw(st.one_of(st.none(), st.floats(0.0, 1.0)))
    disk = draw(st.one_of(st.just(0.0), st.floats(1e6, 2e11))) if allow_storage else 0.0
    return PrecopyParams(
        memory_bytes=memory,
        bandwidth_bps=bw,
        dirty_rate_bps=draw(st.floats(0.0, 3.0)) * bw,
        max_downtime_s=draw(st.floats(0.001, 2.0)),
        working_set_bytes=None if ws_fraction is None else ws_fraction * memory,
        max_rounds=draw(st.integers(1, 40)),
        max_total_factor=draw(st.floats(0.5, 5.0)),
        compression_ratio=draw(st.floats(1.0, 4.0)),
        switchover_overhead_s=overhead if overhead is not None else draw(st.floats(0.0, 1.0)),
        on_no_convergence=draw(st.sampled_from(["throttle", "force", "abort"])),
        disk_bytes=disk,
        disk_write_rate_bps=draw(st.floats(0.0, 2.0)) * bw if disk else 0.0,
    )


@settings(max_examples=300, deadline=None)
@given(precopy_params())
def test_every_page_is_sent_at_least_once(p):
    r = simulate_precopy(p)
    assert r.memory_bytes_sent >= p.memory_bytes * (1 - REL)
    assert r.bytes_sent >= p.memory_bytes * (1 - REL)
    assert r.bytes_sent >= r.memory_bytes_sent + p.disk_bytes * (1 - REL)


@settings(max_examples=300, deadline=None)
@given(precopy_params())
def test_a_converged_migration_keeps_within_its_downtime_budget(p):
    r = simulate_precopy(p)
    if r.converged:
        assert r.outcome == "converged"
        assert r.downtime_s <= (p.max_downtime_s + p.switchover_overhead_s) * (1 + REL) + 1e-12
    else:
        assert r.outcome in ("forced", "aborted") and r.ended_by in ("max_rounds", "max_total_factor")


@settings(max_examples=300, deadline=None)
@given(precopy_params())
def test_total_time_is_at_least_memory_over_effective_bandwidth(p):
    r = simulate_precopy(p)
    assert r.total_time_s >= p.memory_bytes / (p.bandwidth_bps * p.compression_ratio) * (1 - REL)
    assert math.isclose(r.total_time_s, r.storage_time_s + r.precopy_time_s + r.downtime_s, rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=300, deadline=None)
@given(precopy_params())
def test_dirty_bytes_stay_within_the_working_set_and_the_run_terminates(p):
    r = simulate_precopy(p)
    assert len(r.rounds) <= p.max_rounds + p.max_throttle_rounds
    assert all(rnd.dirtied_bytes <= p.working_set * (1 + REL) for rnd in r.rounds)
    assert all(0.0 <= rnd.throttle <= p.throttle_max for rnd in r.rounds)


@settings(max_examples=100, deadline=None)
@given(precopy_params(), st.lists(st.floats(0.001, 50.0), min_size=1, max_size=20))
def test_stepping_by_any_increments_equals_the_closed_run(p, steps):
    closed = simulate_precopy(p)
    sim = PrecopySimulation(p)
    k = 0
    while not sim.done:
        sim.advance(steps[k % len(steps)] * (k + 1), p.bandwidth_bps)  # growing steps: always ends
        k += 1
    r = sim.result()
    assert r.outcome == closed.outcome and len(r.rounds) == len(closed.rounds)
    assert math.isclose(r.total_time_s, closed.total_time_s, rel_tol=1e-9)
    assert math.isclose(r.downtime_s, closed.downtime_s, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(r.bytes_sent, closed.bytes_sent, rel_tol=1e-9)


LINK_BW = st.floats(1e7, 1.25e10)


@settings(max_examples=100, deadline=None)
@given(LINK_BW, st.data(), st.integers(1, 8))
def test_makespan_is_at_least_total_wire_bytes_over_link_bandwidth(link_bw, data, max_concurrent):
    migrations = data.draw(st.lists(precopy_params(), min_size=1, max_size=20))
    link = LinkSpec(bandwidth_bps=link_bw, rtt_s=0.07)
    w = plan_wave(link, migrations, max_concurrent)
    assert w.makespan_s >= w.total_wire_bytes / link.bandwidth_bps * (1 - REL)
    for item, p in zip(w.items, migrations, strict=True):
        assert item.start_s <= item.end_s <= w.makespan_s
        assert item.bytes_sent >= p.memory_bytes * (1 - REL)


@settings(max_examples=100, deadline=None)
@given(LINK_BW, st.data(), st.integers(1, 8))
def test_with_work_waiting_the_link_is_never_idle(link_bw, data, max_concurrent):
    # More migrations than slots, NICs at least as fast as the link and no switchover overhead:
    # some migration always wants the link, so the makespan is the wire bytes over the bandwidth.
    n = data.draw(st.integers(max_concurrent + 1, max_concurrent + 12))
    nic = data.draw(st.floats(1.0, 4.0)) * link_bw
    migrations = data.draw(st.lists(precopy_params(bandwidth=nic, overhead=0.0), min_size=n, max_size=n))
    link = LinkSpec(bandwidth_bps=link_bw)  # no RTT: no slow-start ramp, during which a lone migration idles the link
    w = plan_wave(link, migrations, max_concurrent)
    ideal = w.total_wire_bytes / link.bandwidth_bps
    assert w.makespan_s >= ideal * (1 - REL)
    assert w.makespan_s <= ideal * 1.005
    # The concurrency limit holds at every start.
    for item in w.items:
        running = sum(1 for o in w.items if o.start_s <= item.start_s < o.end_s)
        assert running <= max_concurrent
