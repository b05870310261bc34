"""The varying world (migration/engine/world.py): seeded, daily, bursty; runs through it differ from predictions,
which read only the past and give a range that usually holds the actual. Pure: no database."""

import math
import random
from datetime import UTC, datetime

import pytest

from migration.engine import PrecopyParams, PrecopySimulation
from migration.engine import forecast as fc
from migration.engine import world as w

GIB = 2**30
WEDNESDAY = datetime(2026, 12, 2, tzinfo=UTC).timestamp()  # 00:00 UTC
CALIFORNIA = -122.0


def at_local_hour(hour: float, longitude: float = CALIFORNIA) -> float:
    return WEDNESDAY + (hour - longitude / 15.0) * 3600


def pattern(workload_id: int = 7, base: float = 50e6, seed: int = w.DEFAULT_SEED) -> w.DirtyPattern:
    return w.dirty_pattern_for(seed=seed, workload_id=workload_id, base_bps=base, longitude=CALIFORNIA)


def test_the_same_identity_and_time_give_the_same_world_and_another_identity_another():
    a = [w.dirty_rate_at(pattern(7), WEDNESDAY + 60 * k) for k in range(300)]
    assert a == [w.dirty_rate_at(pattern(7), WEDNESDAY + 60 * k) for k in range(300)]
    assert a != [w.dirty_rate_at(pattern(8), WEDNESDAY + 60 * k) for k in range(300)]
    assert a != [w.dirty_rate_at(pattern(7, seed=1), WEDNESDAY + 60 * k) for k in range(300)]
    link = w.link_pattern_for(link_id=3, longitude=-100)
    assert w.background_at(link, WEDNESDAY + 1234) == w.background_at(link, WEDNESDAY + 1234)


def test_the_world_is_constant_within_a_minute_slot():
    p = pattern()
    start = WEDNESDAY + 600 * 60
    assert w.dirty_rate_at(p, start) == w.dirty_rate_at(p, start + 59.9)
    assert w.mean_dirty_rate(p, start, start + 120) == pytest.approx(
        (w.dirty_rate_at(p, start) + w.dirty_rate_at(p, start + 60)) / 2
    )


def test_dirty_rate_follows_the_business_day_of_the_workloads_site():
    p = pattern(base=100e6)

    def hour_mean(hour: float) -> float:
        return w.mean_dirty_rate(p, at_local_hour(hour), at_local_hour(hour + 1))

    noon, three_am = hour_mean(12.5), hour_mean(3)
    assert noon > 1.5 * three_am
    assert three_am == pytest.approx(100e6 * p.quiet, rel=0.25)
    assert 70e6 < noon < 130e6, "the inventory's dirty rate is the busy-hour rate"


def burst_minutes(p: w.DirtyPattern) -> list[int]:
    """Night minutes (no business-day swing) whose rate is above anything noise alone reaches."""
    ceiling = p.base_bps * p.quiet * (1 + p.noise)
    minutes = []
    for night in range(5):
        start = at_local_hour(0) + night * 86_400
        minutes += [night * 1000 + k for k in range(7 * 60) if w.dirty_rate_at(p, start + 60 * k) > ceiling]
    return minutes


def test_bursts_multiply_the_rate_for_a_few_minutes_and_are_each_workloads_own():
    one, two = burst_minutes(pattern(1)), burst_minutes(pattern(2))
    assert one and two, "every workload has bursts"
    assert len(one) < 0.15 * 5 * 7 * 60, "bursts are the exception"
    assert one != two
    runs, length = [], 1
    for a, b in zip(one, one[1:], strict=False):
        if b == a + 1:
            length += 1
        else:
            runs.append(length)
            length = 1
    runs.append(length)
    assert max(runs) <= 5, "a burst lasts 2-5 minutes"


def test_link_background_is_busier_in_business_hours_and_stays_within_bounds():
    link = w.link_pattern_for(link_id=5, longitude=CALIFORNIA)
    samples = [w.background_at(link, WEDNESDAY + 60 * k) for k in range(3 * 24 * 60)]
    assert all(0.0 <= s <= w.MAX_BACKGROUND for s in samples)
    noon = w.mean_background(link, at_local_hour(11), at_local_hour(14))
    evening = w.mean_background(link, at_local_hour(21), at_local_hour(23))
    assert noon > evening + 0.05


def params(**over) -> PrecopyParams:
    base = {
        "memory_bytes": 8 * GIB, "bandwidth_bps": 1.25e9, "dirty_rate_bps": 60e6, "working_set_bytes": 2 * GIB,
        "rtt_s": 0.065, "streams": 4,
    }  # fmt: skip
    return PrecopyParams(**(base | over))


def test_each_round_is_charged_the_guests_mean_dirty_rate_over_that_round():
    p = pattern(base=80e6)
    start = at_local_hour(10)
    big = params(memory_bytes=64 * GIB, dirty_rate_bps=80e6, working_set_bytes=16 * GIB)
    result = w.run_in_world(big, origin_s=start, dirty=p, link=None, capacity_bps=250e6)
    assert len(result.rounds) >= 2
    for r in result.rounds:
        expected = w.mean_dirty_rate(p, start + r.start_s, start + r.start_s + r.duration_s)
        assert r.dirty_rate_bps == pytest.approx(expected, rel=1e-6)
    assert len({round(r.dirty_rate_bps) for r in result.rounds}) > 1, "the rate changes from round to round"


def test_background_traffic_takes_its_share_of_the_link():
    link = w.link_pattern_for(link_id=2, longitude=CALIFORNIA)
    start = at_local_hour(12)
    quiet = w.run_in_world(params(dirty_rate_bps=0.0), origin_s=start, dirty=None, link=None, capacity_bps=1.25e9)
    busy = w.run_in_world(params(dirty_rate_bps=0.0), origin_s=start, dirty=None, link=link, capacity_bps=1.25e9)
    bg = w.mean_background(link, start, start + busy.total_time_s)
    assert busy.total_time_s == pytest.approx(quiet.total_time_s / (1 - bg), rel=0.03)


def test_stepping_a_link_in_small_wall_steps_gives_the_same_run_as_one_go():
    p, link = pattern(base=40e6), w.link_pattern_for(link_id=4, longitude=CALIFORNIA)
    start = at_local_hour(15)
    whole = w.run_in_world(params(), origin_s=start, dirty=p, link=link, capacity_bps=1.25e9)
    run = w.WorldRun(PrecopySimulation(params(), shared=True), start, p, speed=10.0)
    for _ in range(10_000):
        if run.sim.done:
            break
        # A driver restores the simulation from its saved state at every step.
        run = w.WorldRun(PrecopySimulation.from_state(run.sim.to_state()), start, p, speed=10.0)
        w.advance_in_world([run], capacity_bps=1.25e9, link=link, wall_s=0.25)
    stepped = run.sim.result()
    assert stepped.total_time_s == pytest.approx(whole.total_time_s, rel=1e-6)
    assert [r.bytes for r in stepped.rounds] == pytest.approx([r.bytes for r in whole.rounds], rel=1e-6)


def test_a_forecast_reads_only_the_past(monkeypatch):
    start = at_local_hour(11.3)
    asked: list[float] = []
    real_dirty, real_bg = w.dirty_rate_at, w.background_at

    def spy_dirty(pattern_, t):
        asked.append(t)
        return real_dirty(pattern_, t)

    def spy_bg(pattern_, t):
        asked.append(t)
        return real_bg(pattern_, t)

    monkeypatch.setattr(fc, "dirty_rate_at", spy_dirty)  # what the forecast reads the world through
    monkeypatch.setattr(fc, "background_at", spy_bg)
    f = fc.forecast_precopy(
        params(), start_s=start, dirty=pattern(), link=w.link_pattern_for(link_id=1), capacity_bps=1.25e9
    )
    assert asked and max(asked) <= start
    assert f.p10_s <= f.total_time_s <= f.p90_s and f.analogues == fc.ANALOGUE_RECENT + fc.ANALOGUE_YESTERDAY
    assert "telemetry" in f.basis


def test_actual_runs_differ_from_their_predictions_yet_mostly_fall_inside_the_range():
    rng = random.Random(3)
    inside, differs, n = 0, 0, 40
    for k in range(n):
        base = rng.uniform(10e6, 120e6)
        p = params(
            memory_bytes=rng.choice([2, 4, 8, 16]) * GIB,
            dirty_rate_bps=base,
            streams=rng.choice([1, 4]),
            socket_buffer_bytes=rng.choice([None, 6 * 2**20]),
        )
        world = {
            "dirty": w.dirty_pattern_for(workload_id=100 + k, base_bps=base, longitude=CALIFORNIA),
            "link": w.link_pattern_for(link_id=k % 5, longitude=-100),
            "capacity_bps": rng.choice([625e6, 1.25e9]),
        }
        start = WEDNESDAY + rng.uniform(0, 5 * 86_400)
        f = fc.forecast_precopy(p, start_s=start, **world)
        actual = w.run_in_world(p, origin_s=start, **world).total_time_s
        differs += not math.isclose(actual, f.total_time_s, rel_tol=1e-3)
        inside += f.p10_s <= actual <= f.p90_s
    assert differs >= 0.8 * n, "the actual run is not the prediction replayed"
    assert inside >= 0.7 * n
