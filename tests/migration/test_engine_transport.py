"""The engine's transport model: TCP window and loss (Mathis), streams, codec, cipher, NIC, zero pages,
slow start; the binding limit, named. Plain pytest and hypothesis, no database."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migration.engine import (
    LinkSpec,
    PrecopyParams,
    PrecopySimulation,
    RateLimits,
    plan_wave,
    rate_limits,
    simulate_precopy,
    slow_start_s,
    transport_rate_bps,
)
from migration.engine.precopy import STATE_VERSION
from tests.migration.engine_oracle import wave_by_plain_stepping

GiB = 2**30
MiB = 2**20
GBIT = 125e6
TEN_GBIT = 1.25e9
TCP_RMEM_MAX = 6 * MiB  # Linux's default tcp_rmem maximum: an untuned KVM host
MATHIS_C = math.sqrt(1.5)
REL = 1e-9


def rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-300)


def idle(**kw) -> PrecopyParams:
    """An idle 4 GiB guest on a 10 GbE NIC: its time is memory over rate (plus the ramp)."""
    return PrecopyParams(**({"memory_bytes": 4 * GiB, "bandwidth_bps": TEN_GBIT, "max_downtime_s": 0.3} | kw))


# --------------------------------------------------------------------------- the equations


def test_transport_rate_is_the_smallest_of_bandwidth_window_and_mathis():
    window = TCP_RMEM_MAX / 0.065
    assert rel(transport_rate_bps(bandwidth_bps=TEN_GBIT, rtt_s=0.065, socket_buffer_bytes=TCP_RMEM_MAX), window) < REL
    assert round(window / 1e6, 1) == 96.8  # the "1 stream × 6 MiB / 65 ms = 96.8 MB/s"
    # BDP-sized buffers (None): the window never binds, the path's bandwidth does.
    assert transport_rate_bps(bandwidth_bps=TEN_GBIT, rtt_s=0.065) == TEN_GBIT
    # Mathis et al.: C x MSS / (RTT x sqrt(p)) per stream.
    mathis = MATHIS_C * 1460 / (0.065 * math.sqrt(1e-3))
    assert rel(transport_rate_bps(bandwidth_bps=TEN_GBIT, rtt_s=0.065, loss=1e-3), mathis) < REL
    assert (
        rel(transport_rate_bps(bandwidth_bps=TEN_GBIT, rtt_s=0.065, loss=1e-3, mss_bytes=8960), mathis * 8960 / 1460)
        < REL
    )
    # Streams multiply the per-stream limit, never past the bandwidth.
    assert rel(transport_rate_bps(bandwidth_bps=TEN_GBIT, rtt_s=0.065, loss=1e-3, streams=4), 4 * mathis) < REL
    assert (
        transport_rate_bps(bandwidth_bps=TEN_GBIT, rtt_s=0.065, socket_buffer_bytes=TCP_RMEM_MAX, streams=64)
        == TEN_GBIT
    )
    # No RTT (a LAN, in the model): no TCP limit at all.
    assert transport_rate_bps(bandwidth_bps=GBIT, rtt_s=0.0, loss=0.01, socket_buffer_bytes=1) == GBIT


def test_slow_start_takes_log2_of_the_window_in_initial_windows_round_trips():
    # 6 MiB window from 10 x 1460 B: log2(430.9) = 8.75 round trips of 65 ms.
    assert rel(slow_start_s(rate_bps=TCP_RMEM_MAX / 0.065, rtt_s=0.065), 0.065 * math.log2(TCP_RMEM_MAX / 14600)) < REL
    assert slow_start_s(rate_bps=TEN_GBIT, rtt_s=0.0) == 0.0
    assert slow_start_s(rate_bps=1e5, rtt_s=0.065) == 0.0  # the initial window already carries it
    # More streams: smaller windows each, a shorter ramp.
    assert slow_start_s(rate_bps=TEN_GBIT, rtt_s=0.065, streams=8) < slow_start_s(rate_bps=TEN_GBIT, rtt_s=0.065)


def test_the_worked_example_still_holds_with_the_transport_defaults():
    r = simulate_precopy(PrecopyParams(memory_bytes=GiB, dirty_rate_bps=25e6, bandwidth_bps=GBIT, max_downtime_s=0.3))
    assert len(r.rounds) == 3 and round(r.total_time_s, 2) == 10.72 and round(r.downtime_s * 1e3, 1) == 68.7
    assert r.slow_start_s == 0.0 and r.limit == "link" and r.wire_bytes == r.bytes_sent
    assert r.limit_sentence == "The link binds: 1 Gbit/s = 125.0 MB/s"
    assert "at 125.0 MB/s, set by the link;" in r.reason and "8.2 MiB" in r.reason  # sizes binary, rates decimal


# --------------------------------------------------------------------------- each limit alone


def test_the_tcp_window_alone_sets_the_rate_and_is_named():
    p = idle(rtt_s=0.065, socket_buffer_bytes=TCP_RMEM_MAX)
    r = simulate_precopy(p)
    window = TCP_RMEM_MAX / 0.065
    assert r.limit == "window" and rel(r.rate_bps, window) < REL
    assert rel(r.total_time_s, r.slow_start_s + 4 * GiB / window) < REL
    assert r.limit_sentence == "The TCP window binds: 1 stream × 6.0 MiB / 65 ms = 96.8 MB/s"
    assert "set by the TCP window" in r.reason
    advice = r.limit_advice
    assert "8 streams would carry 8× as much (774.3 MB/s)" in advice
    assert any(
        a.startswith("socket buffers of 77 MiB per stream") and a.endswith("would fill this link") for a in advice
    )


def test_more_streams_multiply_a_window_limited_rate():
    one = simulate_precopy(idle(rtt_s=0.065, socket_buffer_bytes=TCP_RMEM_MAX))
    four = simulate_precopy(idle(rtt_s=0.065, socket_buffer_bytes=TCP_RMEM_MAX, streams=4))
    assert rel(four.rate_bps, 4 * one.rate_bps) < REL
    assert rel(four.total_time_s - four.slow_start_s, (one.total_time_s - one.slow_start_s) / 4) < REL
    assert four.limit_sentence.startswith("The TCP window binds: 4 streams × 6.0 MiB / 65 ms")


def test_packet_loss_alone_caps_each_stream_at_the_mathis_rate():
    p = idle(rtt_s=0.05, loss=1e-4, streams=2)
    r = simulate_precopy(p)
    mathis = 2 * MATHIS_C * 1460 / (0.05 * math.sqrt(1e-4))
    assert r.limit == "loss" and rel(r.rate_bps, mathis) < REL
    assert rel(r.total_time_s, r.slow_start_s + 4 * GiB / mathis) < REL
    assert "Mathis" in r.limit_sentence and "0.01 %" in r.limit_sentence
    assert any("the loss rate of 0.01 % caps each stream" in a for a in r.limit_advice)


def test_loss_without_an_rtt_costs_nothing_it_is_not_a_linear_tax():
    assert simulate_precopy(idle(loss=0.2)).total_time_s == simulate_precopy(idle()).total_time_s


def test_the_codec_limits_the_memory_carried_when_compression_is_on():
    p = idle(compression_ratio=2.0, codec_rate_bps=400e6)
    r = simulate_precopy(p)
    assert r.limit == "codec" and rel(r.rate_bps, 400e6) < REL
    assert rel(r.total_time_s, 4 * GiB / 400e6) < REL
    assert r.wire_bytes == r.bytes_sent / 2  # the wire carries half: 200 MB/s of the link's 1,250
    assert rate_limits(p).limits == {"link": 2 * TEN_GBIT, "codec": 400e6}
    assert any("without WAN compression it would carry 3.12× as much (1,250.0 MB/s)" in a for a in r.limit_advice)
    # Without compression the codec is not in the path.
    assert simulate_precopy(idle(codec_rate_bps=400e6)).limit == "link"


def test_the_cipher_limits_the_wire_bytes_of_an_encrypted_move():
    r = simulate_precopy(idle(cipher_rate_bps=300e6))
    assert r.limit == "cipher" and rel(r.total_time_s, 4 * GiB / 300e6) < REL
    # Compress, then encrypt: the cipher sees wire bytes, so compression carries 2x the memory through it.
    packed = simulate_precopy(idle(cipher_rate_bps=300e6, compression_ratio=2.0))
    assert packed.limit == "cipher" and rel(packed.rate_bps, 600e6) < REL


def test_zero_pages_cost_no_bandwidth_in_round_zero_only():
    plain = simulate_precopy(idle())
    half = simulate_precopy(idle(zero_page_fraction=0.5))
    assert rel(half.total_time_s, plain.total_time_s / 2) < REL
    assert half.bytes_sent == plain.bytes_sent and rel(half.wire_bytes, plain.wire_bytes / 2) < REL
    busy = {"dirty_rate_bps": 1e9, "working_set_bytes": 2 * GiB}
    a, b = simulate_precopy(idle(**busy)), simulate_precopy(idle(**busy, zero_page_fraction=0.75))
    assert rel(b.rounds[0].duration_s, a.rounds[0].duration_s / 4) < REL
    # Round 1 copies what round 0 dirtied: written pages, full price (its bytes over the full rate).
    assert rel(b.rounds[1].duration_s, b.rounds[1].bytes / TEN_GBIT) < REL


def test_slow_start_delays_the_first_byte_and_holds_the_phase_it_leads_to():
    p = idle(rtt_s=0.065)
    sim = PrecopySimulation(p)
    ramp = slow_start_s(rate_bps=TEN_GBIT, rtt_s=0.065)
    assert ramp > 0.5  # 81 MB windows over 65 ms: about 12 round trips
    assert sim.phase == "precopy" and sim.consumes_bandwidth and sim.time_to_next_boundary(TEN_GBIT) == ramp
    sim.advance(ramp / 2, TEN_GBIT)
    assert sim.memory_sent_bytes == 0.0 and sim.current_round is None
    r = simulate_precopy(p)
    assert r.slow_start_s == ramp and rel(r.total_time_s, ramp + 4 * GiB / TEN_GBIT) < REL
    assert r.rounds[0].start_s == ramp
    assert PrecopySimulation(replace(p, disk_bytes=GiB)).phase == "storage"


def test_a_slow_nic_is_named_in_a_wave_and_the_link_alone():
    slow = idle(bandwidth_bps=GBIT)
    w = plan_wave(LinkSpec(bandwidth_bps=TEN_GBIT), [slow])
    assert w.items[0].result.limit == "nic" and "migration NIC" in w.items[0].result.limit_sentence
    assert simulate_precopy(slow).limit == "link"  # alone, bandwidth_bps is the bandwidth available: the link


def test_two_links_of_equal_bandwidth_but_2_and_65_ms_give_different_predictions_with_untuned_buffers():
    vm = PrecopyParams(
        memory_bytes=4 * GiB,
        bandwidth_bps=TEN_GBIT,
        dirty_rate_bps=25e6,
        working_set_bytes=GiB,
        socket_buffer_bytes=TCP_RMEM_MAX,
    )
    near, far = simulate_precopy(replace(vm, rtt_s=0.002)), simulate_precopy(replace(vm, rtt_s=0.065))
    assert near.limit == "link" and far.limit == "window"
    assert far.total_time_s > 10 * near.total_time_s
    assert "set by the link" in near.reason and "set by the TCP window" in far.reason
    # The same through plan_wave, where the links' RTTs apply to the migration.
    a = plan_wave(LinkSpec(bandwidth_bps=TEN_GBIT, rtt_s=0.002), [vm]).items[0]
    b = plan_wave(LinkSpec(bandwidth_bps=TEN_GBIT, rtt_s=0.065), [vm]).items[0]
    assert rel(a.end_s, near.total_time_s) < REL and rel(b.end_s, far.total_time_s) < REL
    # Tuned buffers (None: BDP-sized, as long-distance vMotion does): distance costs only the ramp.
    tuned = simulate_precopy(replace(vm, rtt_s=0.065, socket_buffer_bytes=None))
    assert tuned.limit == "link" and tuned.total_time_s < 2 * near.total_time_s


# --------------------------------------------------------------------------- in a wave


def test_window_limited_moves_that_leave_room_on_the_link_do_not_slow_each_other():
    link = LinkSpec(bandwidth_bps=TEN_GBIT, rtt_s=0.065)
    kvm = idle(socket_buffer_bytes=TCP_RMEM_MAX)  # 96.8 MB/s each: three use 23 % of the link
    vsphere = idle(memory_bytes=32 * GiB)  # BDP-sized buffers: takes the rest
    w = plan_wave(link, [kvm, kvm, kvm, vsphere])
    alone = simulate_precopy(replace(kvm, rtt_s=0.065))
    for item in w.items[:3]:
        assert rel(item.end_s, alone.total_time_s) < REL and item.result.limit == "window"
    # The tuned move got the link minus the three windows (and ended first: they stayed as slow).
    ramp = w.items[3].result.slow_start_s
    window = TCP_RMEM_MAX / 0.065
    assert rel(w.items[3].end_s, ramp + 32 * GiB / (TEN_GBIT - 3 * window)) < 1e-9
    assert w.items[3].end_s < alone.total_time_s and w.items[3].result.limit == "link"


def test_codec_and_cipher_caps_leave_their_unused_share_to_the_others():
    link = LinkSpec(bandwidth_bps=TEN_GBIT)
    encrypted = idle(cipher_rate_bps=250e6)
    other = idle(memory_bytes=16 * GiB)
    w = plan_wave(link, [encrypted, other])
    assert w.items[0].result.limit == "cipher" and rel(w.items[0].end_s, 4 * GiB / 250e6) < REL
    expected = w.items[0].end_s + (16 * GiB - (TEN_GBIT - 250e6) * w.items[0].end_s) / TEN_GBIT
    assert rel(w.items[1].end_s, expected) < REL
    packed = LinkSpec(bandwidth_bps=TEN_GBIT, compression_ratio=2.0)
    codec = plan_wave(packed, [idle(codec_rate_bps=500e6), idle(memory_bytes=16 * GiB)])
    assert codec.items[0].result.limit == "codec" and rel(codec.items[0].end_s, 4 * GiB / 500e6) < REL


def test_the_links_loss_and_rtt_apply_to_every_migration_of_a_wave():
    link = LinkSpec(bandwidth_bps=TEN_GBIT, rtt_s=0.08, loss=5e-4)
    w = plan_wave(link, [idle(streams=1), idle(streams=4)])
    one, four = (item.result for item in w.items)
    assert one.limit == four.limit == "loss"
    assert rel(four.rate_bps, 4 * one.rate_bps) < REL
    assert w.items[1].end_s < w.items[0].end_s


def test_zero_pages_and_slow_start_in_a_wave():
    link = LinkSpec(bandwidth_bps=TEN_GBIT, rtt_s=0.065)
    w = plan_wave(link, [idle(zero_page_fraction=0.5)], max_concurrent=1)
    ramp = w.items[0].result.slow_start_s
    assert ramp > 0 and rel(w.makespan_s, ramp + 2 * GiB / TEN_GBIT) < REL
    assert rel(w.total_wire_bytes, 2 * GiB) < REL
    # Two in a row through one slot: each pays its own ramp (a new connection), holding the slot.
    two = plan_wave(link, [idle(), idle()], max_concurrent=1)
    assert rel(two.makespan_s, 2 * (ramp + 4 * GiB / TEN_GBIT)) < REL


# --------------------------------------------------------------------------- naming the limit


def test_rate_limits_names_the_link_share_and_breaks_ties_towards_the_migrations_own_limit():
    p = idle()
    shared = rate_limits(p, share_bps=300e6)
    assert isinstance(shared, RateLimits) and shared.binding == "link" and shared.rate_bps == 300e6
    assert shared.limits == {"link": 300e6, "nic": TEN_GBIT}
    assert any("a quieter hour" in a for a in shared.advice)
    assert rate_limits(p, share_bps=TEN_GBIT).binding == "nic"  # water-filling capped it at its NIC
    assert rate_limits(p).binding == "link" and "nic" not in rate_limits(p).limits
    window = rate_limits(idle(rtt_s=0.065, socket_buffer_bytes=TCP_RMEM_MAX), share_bps=200e6)
    assert window.binding == "window"  # its share is more than its window can use
    with_none = rate_limits(idle(rtt_s=0.065))
    assert set(with_none.limits) == {"link"}  # BDP buffers, no loss, no codec, no cipher: left out


def test_the_result_carries_the_limit_and_serialises_it():
    r = simulate_precopy(idle(rtt_s=0.065, socket_buffer_bytes=TCP_RMEM_MAX, dirty_rate_bps=20e6))
    d = json.loads(json.dumps(r.to_dict()))
    assert d["limit"] == "window" and d["limit_sentence"] == r.limit_sentence and d["limit_advice"] == r.limit_advice
    assert "params" not in d and d["slow_start_s"] == r.slow_start_s


# --------------------------------------------------------------------------- persistence and validation


def test_a_saved_state_resumes_mid_ramp_and_mid_round_with_the_transport_fields():
    p = idle(rtt_s=0.065, socket_buffer_bytes=TCP_RMEM_MAX, zero_page_fraction=0.3, dirty_rate_bps=30e6)
    closed = simulate_precopy(p)
    for first_step in (0.1, closed.slow_start_s + 5.0):
        sim = PrecopySimulation(p)
        sim.advance(first_step, TEN_GBIT)
        state = json.loads(json.dumps(sim.to_state()))
        assert state["version"] == STATE_VERSION == 2
        again = PrecopySimulation.from_state(state)
        while not again.done:
            again.advance(3.0, TEN_GBIT)
        r = again.result()
        assert rel(r.total_time_s, closed.total_time_s) < REL and len(r.rounds) == len(closed.rounds)


def test_a_version_1_state_is_still_read():
    p = PrecopyParams(memory_bytes=GiB, dirty_rate_bps=25e6, bandwidth_bps=GBIT)
    sim = PrecopySimulation(p)
    sim.advance(5.0, GBIT)
    state = sim.to_state()
    old = {k: v for k, v in state.items() if k not in ("k", "setup_left", "shared")} | {"version": 1}
    new_fields = ("rtt_s", "loss", "streams", "socket_buffer_bytes", "mss_bytes", "codec_rate_bps")
    old["params"] = {k: v for k, v in state["params"].items() if k not in (*new_fields, "cipher_rate_bps")}
    old["params"].pop("zero_page_fraction")
    resumed = PrecopySimulation.from_state(old)
    resumed.advance(100.0, GBIT)
    assert rel(resumed.result().total_time_s, simulate_precopy(p).total_time_s) < REL


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("rtt_s", -0.01, "rtt_s must be >= 0"),
        ("loss", 1.0, r"loss must be in \[0, 1\)"),
        ("streams", 0, "streams must be an integer >= 1"),
        ("streams", 2.5, "streams must be an integer >= 1"),
        ("socket_buffer_bytes", 0, "socket_buffer_bytes must be positive"),
        ("mss_bytes", 0, "mss_bytes must be positive"),
        ("codec_rate_bps", -1.0, "codec_rate_bps must be positive"),
        ("cipher_rate_bps", float("nan"), "cipher_rate_bps must be a finite number"),
        ("zero_page_fraction", 1.0, r"zero_page_fraction must be in \[0, 1\)"),
    ],
)
def test_bad_transport_parameters_are_refused_naming_the_field(field, value, message):
    with pytest.raises(ValueError, match=message):
        idle(**{field: value})


# --------------------------------------------------------------------------- properties


@st.composite
def transported(draw) -> PrecopyParams:
    memory = draw(st.floats(1e6, 64 * GiB))
    bw = draw(st.floats(1e6, 1.25e10))
    ratio = draw(st.floats(1.0, 4.0))
    return PrecopyParams(
        memory_bytes=memory,
        bandwidth_bps=bw,
        dirty_rate_bps=draw(st.floats(0.0, 2.0)) * bw,
        working_set_bytes=draw(st.floats(0.0, 1.0)) * memory,
        max_downtime_s=draw(st.floats(0.001, 2.0)),
        compression_ratio=ratio,
        on_no_convergence=draw(st.sampled_from(["throttle", "force", "abort"])),
        switchover_overhead_s=draw(st.floats(0.0, 0.5)),
        rtt_s=draw(st.floats(0.0, 0.3)),
        loss=draw(st.one_of(st.just(0.0), st.floats(1e-6, 0.05))),
        streams=draw(st.integers(1, 16)),
        socket_buffer_bytes=draw(st.one_of(st.none(), st.floats(64 * 1024, 256 * MiB))),
        mss_bytes=draw(st.sampled_from([536, 1220, 1460, 8960])),
        codec_rate_bps=draw(st.one_of(st.none(), st.floats(1e6, 1e10))),
        cipher_rate_bps=draw(st.one_of(st.none(), st.floats(1e6, 1e10))),
        zero_page_fraction=draw(st.floats(0.0, 0.95)),
    )


@settings(max_examples=300, deadline=None)
@given(transported(), st.one_of(st.none(), st.floats(1e5, 1e11)))
def test_the_rate_is_the_smallest_limit_and_never_exceeds_any(p, share):
    lim = rate_limits(p, share_bps=share)
    assert lim.binding in lim.limits
    assert all(lim.rate_bps <= value * (1 + REL) for value in lim.limits.values())
    assert lim.rate_bps >= min(lim.limits.values()) * (1 - REL)
    r = simulate_precopy(p)
    assert all(r.rate_bps <= value * (1 + REL) for value in rate_limits(p).limits.values())
    assert lim.sentence and lim.advice


@settings(max_examples=200, deadline=None)
@given(transported(), st.integers(1, 16))
def test_more_streams_are_never_slower(p, more):
    faster = replace(p, streams=p.streams + more)
    assert rate_limits(faster).rate_bps >= rate_limits(p).rate_bps * (1 - REL)
    idle_guest = replace(p, dirty_rate_bps=0.0)
    slow, fast = simulate_precopy(idle_guest), simulate_precopy(replace(idle_guest, streams=p.streams + more))
    assert fast.total_time_s <= slow.total_time_s * (1 + REL)


@settings(max_examples=200, deadline=None)
@given(transported(), st.floats(0.0, 1.0))
def test_zero_pages_never_increase_the_time(p, more):
    more_zeros = replace(p, zero_page_fraction=p.zero_page_fraction + (0.95 - p.zero_page_fraction) * more)
    base, zeros = simulate_precopy(p), simulate_precopy(more_zeros)
    if base.rounds and zeros.rounds:
        assert zeros.rounds[0].duration_s <= base.rounds[0].duration_s * (1 + REL)
    # A guest that converges on its own converges as soon or sooner, each round no larger. (One that hits
    # a cap need not: smaller rounds reach max_total_factor later, so it throttles later.)
    if base.ended_by == "converged":
        assert zeros.ended_by == "converged" and len(zeros.rounds) <= len(base.rounds)
        assert zeros.total_time_s <= base.total_time_s * (1 + REL)


@settings(max_examples=100, deadline=None)
@given(transported(), st.lists(st.floats(0.001, 20.0), min_size=1, max_size=10))
def test_stepping_through_the_ramp_and_the_rounds_equals_the_closed_run(p, steps):
    closed = simulate_precopy(p)
    sim = PrecopySimulation(p)
    k = 0
    while not sim.done:
        sim.advance(steps[k % len(steps)] * (k + 1), p.bandwidth_bps)
        k += 1
    r = sim.result()
    assert r.outcome == closed.outcome and len(r.rounds) == len(closed.rounds)
    assert math.isclose(r.total_time_s, closed.total_time_s, rel_tol=1e-9)
    assert math.isclose(r.wire_bytes, closed.wire_bytes, rel_tol=1e-9)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(transported(), min_size=1, max_size=10),
    st.floats(1e7, 1.25e10),
    st.floats(0.0, 0.15),
    st.one_of(st.just(0.0), st.floats(1e-6, 0.01)),
    st.integers(1, 4),
    st.booleans(),
)
def test_plan_wave_equals_re_sharing_and_stepping_everyone_at_every_event(ps, bw, rtt, loss, concurrency, storage):
    if storage:  # storage moves too, with mirrored writes
        ps = [replace(p, disk_bytes=p.memory_bytes * 2, disk_write_rate_bps=p.bandwidth_bps / 4) for p in ps]
    link = LinkSpec(bandwidth_bps=bw, rtt_s=rtt, loss=loss)
    w = plan_wave(link, ps, concurrency)
    ends, _ = wave_by_plain_stepping(link, ps, concurrency)
    for item, end in zip(w.items, ends, strict=True):
        assert math.isclose(item.end_s, end, rel_tol=1e-7, abs_tol=1e-9)
    assert math.isclose(w.makespan_s, max(ends), rel_tol=1e-7)
