"""plan_wave's loop in virtual time (migration/engine/shared_link.py): the same plan as re-sharing the link and
stepping every migration at every event, with many on the wire, levels that cross their caps, mirrored writes and the
QEMU profile's stop-and-copy; and a change of level that touches only the migrations that depend on it."""

from __future__ import annotations

import math
from dataclasses import replace

from hypothesis import example, given, settings
from hypothesis import strategies as st

from migration.engine import LinkSpec, PrecopyParams, PrecopySimulation, fair_shares, plan_wave
from migration.engine import shared_link as shared_link_module
from migration.engine.shared_link import SharedLink, water_level
from tests.migration.engine_oracle import wave_by_plain_stepping

GiB = 2**30
MB = 1e6


@st.composite
def on_a_busy_link(draw) -> PrecopyParams:
    """Migrations whose own caps are around the link's level (some bind, some do not), with overheads (they leave
    the wire before they end), some storage moves with mirrored writes, some on the QEMU profile."""
    memory = draw(st.sampled_from([0.25, 0.5, 1, 2, 4])) * GiB
    nic = draw(st.sampled_from([50 * MB, 125 * MB, 400 * MB, 1250 * MB]))
    storage = draw(st.booleans())
    return PrecopyParams(
        memory_bytes=memory,
        bandwidth_bps=nic,
        dirty_rate_bps=draw(st.floats(0.0, 1.5)) * nic / 4,
        working_set_bytes=draw(st.floats(0.05, 1.0)) * memory,
        switchover_overhead_s=draw(st.sampled_from([0.0, 0.0, 0.05, 0.5])),
        disk_bytes=memory if storage else 0,
        disk_write_rate_bps=draw(st.sampled_from([0.0, 5 * MB])) if storage else 0.0,
        profile=draw(st.sampled_from(["generic", "generic", "qemu"])),
        on_no_convergence=draw(st.sampled_from(["throttle", "force"])),
    )


#: Found by the test below: a QEMU-profile pass that ends exactly one sync period after the last (its trigger decided by
#: a float's last bit, differently in virtual time and in plain stepping) beside six quiet guests.
_QUIET = PrecopyParams(memory_bytes=0.25 * GiB, bandwidth_bps=50 * MB, working_set_bytes=0.25 * GiB)
_AT_A_PERIODS_END = [_QUIET] * 3 + [
    replace(_QUIET, bandwidth_bps=400 * MB, dirty_rate_bps=38_671_875.0, profile="qemu")
] + [_QUIET] * 3  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    st.lists(on_a_busy_link(), min_size=2, max_size=24),
    st.sampled_from([100 * MB, 500 * MB, 1250 * MB]),
    st.sampled_from([0.0, 0.01, 0.07]),
    st.integers(2, 16),
)
@example(_AT_A_PERIODS_END, 100 * MB, 0.01, 2)
def test_plan_wave_equals_re_sharing_and_stepping_everyone_with_many_on_the_wire(ps, bw, rtt, concurrency):
    # Sizes made distinct: two boundaries at the very same instant are taken one after the other by plan_wave (in
    # input order, the second seeing what the first freed) and all at once by the oracle, a difference at an instant.
    ps = [replace(p, memory_bytes=p.memory_bytes * (1 + k / 997)) for k, p in enumerate(ps)]
    link = LinkSpec(bandwidth_bps=bw, rtt_s=rtt)
    wave = plan_wave(link, ps, concurrency)
    ends, rounds = wave_by_plain_stepping(link, ps, concurrency)
    for item, end, count in zip(wave.items, ends, rounds, strict=True):
        assert math.isclose(item.end_s, end, rel_tol=1e-7, abs_tol=1e-9)
        assert item.rounds == count
    assert math.isclose(wave.makespan_s, max(ends), rel_tol=1e-7)


def test_a_change_of_level_at_the_very_instant_a_pass_starts_re_times_it():
    """B's second pass starts at 0.4 s, at the instant C ends and B gets the whole link (the tie goes to B, which
    started first): the pass must run at the new level (1 MB at 10 MB/s: 0.1 s), not at the share it was timed at
    just before (found by test_engine_properties' never-idle property: the link idled 0.1 s)."""
    quick = PrecopyParams(memory_bytes=1e6, bandwidth_bps=1e7, max_downtime_s=1.0, max_rounds=1, max_total_factor=1.0)
    busy = replace(quick, dirty_rate_bps=1e7, max_downtime_s=0.125)
    wave = plan_wave(LinkSpec(bandwidth_bps=1e7), [quick, busy, quick], 2)
    assert [item.end_s for item in (wave.items[0], wave.items[2])] == [0.2, 0.4]
    last = wave.items[1].result.rounds[-1]
    assert last.start_s == 0.4 and math.isclose(last.duration_s, 0.1)
    assert math.isclose(wave.makespan_s, wave.total_wire_bytes / 1e7)  # the link never idles


def test_water_level_is_the_equal_split_unless_caps_bind():
    assert water_level(1000.0, [500.0], {500.0: 4}, 4) == 250.0  # nobody held by a cap: capacity / n, exactly
    assert water_level(1000.0, [100.0, 5000.0], {100.0: 1, 5000.0: 1}, 2) == 900.0
    assert water_level(1000.0, [100.0, 200.0, 5000.0], {100.0: 1, 200.0: 1, 5000.0: 1}, 3) == 700.0
    assert water_level(1000.0, [100.0], {100.0: 2}, 2) == math.inf  # every consumer held by its cap
    assert fair_shares(1000.0, [100.0, 100.0]) == [100.0, 100.0]


def test_a_change_of_level_moves_the_clock_not_the_migrations_on_the_v_heap(monkeypatch):
    """400 uncapped migrations on a 100 Gbit/s link, with a switchover overhead (each leaves the wire before it ends,
    and every leave and end changes the level): no re-share touches a migration on the V heap, so the number of
    progress calls is about the number of boundaries, not boundaries plus 400 per change of level."""
    ps = [
        PrecopyParams(memory_bytes=(1 + k % 4) * GiB, bandwidth_bps=3.125e9, dirty_rate_bps=(5 + k % 30) * MB,
                      working_set_bytes=GiB / 2, switchover_overhead_s=0.05)
        for k in range(1200)
    ]  # fmt: skip
    calls = {"progress": 0, "boundary": 0}
    progress, boundary = PrecopySimulation._progress, PrecopySimulation._boundary

    def counted_progress(self, dt, bw):
        calls["progress"] += 1
        return progress(self, dt, bw)

    def counted_boundary(self, bw, events):
        calls["boundary"] += 1
        return boundary(self, bw, events)

    monkeypatch.setattr(PrecopySimulation, "_progress", counted_progress)
    monkeypatch.setattr(PrecopySimulation, "_boundary", counted_boundary)
    levels = []
    relevel = SharedLink._relevel

    def noted(self, now):
        before = self.level
        relevel(self, now)
        levels.append(self.level != before)

    monkeypatch.setattr(shared_link_module.SharedLink, "_relevel", noted)
    wave = plan_wave(LinkSpec(bandwidth_bps=12.5e9), ps, max_concurrent=400)
    assert sum(levels) > 1.5 * len(ps)  # each leave for the overhead changed it, and each end that took its slot back
    assert calls["progress"] <= calls["boundary"] + 400  # not 400 more for each change of level
    assert all(item.outcome == "converged" for item in wave.items)


def test_a_wave_item_names_its_disk_copy_time_without_building_its_result():
    p = PrecopyParams(memory_bytes=GiB, bandwidth_bps=125 * MB, disk_bytes=4 * GiB, disk_write_rate_bps=2 * MB)
    items = plan_wave(LinkSpec(bandwidth_bps=125 * MB, rtt_s=0.02), [p, replace(p, disk_bytes=0)], 2).items
    assert items[0].storage_time_s == items[0].result.storage_time_s > 4 * GiB / (125 * MB)
    assert items[1].storage_time_s == items[1].result.storage_time_s == 0.0
