"""Plain event-loop wave planners, the yardsticks `plan_wave` is measured against (bench/engine.py).

Both follow `plan_wave`'s rules (FIFO queue, at most `max_concurrent` at once, water-filling shares
capped by each migration's own transport rate, the link's RTT and loss applied to each migration, a
migration in its switchover overhead leaving its share to the others), so both must give the same plan;
bench/engine.py checks that before it compares times. Both do what `plan_wave` avoids: at *every*
event they re-compute every share and step *every* active migration, round by round.

- :func:`plan_wave_plain` (the reference of the ratio): a straightforward event loop written from the
  model's rules (docs/engine.md) in plain Python, one small object per migration, no engine class in the
  loop. It covers what the benchmark mixes use (no storage move: it refuses ``disk_bytes``). Nothing in
  it is slowed down on purpose.
- :func:`plan_wave_flat`: the plain loop hand-inlined (one flat list per migration, index constants,
  no method call per step), for information: how fast this loop gets when written for speed.
- :func:`plan_wave_stepped`: the same loop on the engine's public steppable API, the way the Celery
  driver advances a link (`migration.driver.advance_together`): `fair_shares`, `time_to_next_boundary`,
  `advance` on every migration at every event.

The transport rule itself (each migration's wire cap and slow-start ramp) is the engine's
(`migration.engine.transport`), not written twice.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from migration.engine import LinkSpec, PrecopyParams, PrecopyResult, PrecopySimulation, fair_shares  # noqa: E402
from migration.engine.transport import own_limit  # noqa: E402

#: One planned migration: (start_s, end_s, downtime_s, pre-copy rounds, outcome).
Planned = tuple[float, float, float, int, str]


class _Move:
    """One migration's state in the plain loop."""

    __slots__ = (
        "p",
        "c",
        "cap",
        "stage",
        "left",
        "cost",
        "elapsed",
        "round_time",
        "round_bytes",
        "round_throttle",
        "rounds",
        "mem_done",
        "dirty",
        "throttle_on",
        "throttled",
        "converged",
        "outcome",
        "stop_start",
    )

    def __init__(self, p: PrecopyParams, link: LinkSpec) -> None:
        if p.disk_bytes > 0:
            raise ValueError("the plain reference planner does not model storage moves")
        self.p = p
        # The link's RTT and loss (and its compression ratio, when set) replace the migration's own.
        self.c = p.compression_ratio if link.compression_ratio is None else link.compression_ratio
        over = {"rtt_s": link.rtt_s, "loss": link.loss, "compression_ratio": self.c}
        _, self.cap, ramp = own_limit(p, over)
        self.stage = "setup" if ramp > 0 else "decide"
        self.left = ramp  # seconds (setup, overhead) or memory bytes (round, stop) left in the stage
        self.cost = 1.0 - p.zero_page_fraction  # wire cost of a memory byte: zero pages are free in pass 0
        self.elapsed = self.round_time = self.round_bytes = self.round_throttle = self.mem_done = 0.0
        self.rounds = self.throttled = 0
        self.dirty = float(p.memory_bytes)
        self.throttle_on = self.converged = False
        self.outcome = ""
        self.stop_start = 0.0

    def consuming(self) -> bool:
        return self.stage in ("setup", "decide", "round", "stop")

    def rate(self, share: float) -> float:
        """Memory bytes/s at that share (wire cost of the current pass included)."""
        return min(share, self.cap) * self.c / self.cost

    def time_to_boundary(self, share: float) -> float:
        if self.stage in ("setup", "overhead"):
            return max(self.left, 0.0)
        if self.stage == "decide":
            return 0.0
        if self.left <= 0:
            return 0.0
        rate = self.rate(share)
        return self.left / rate if rate > 0 else math.inf

    def step(self, dt: float, share: float) -> None:
        self.elapsed += dt
        if self.stage in ("setup", "overhead"):
            self.left -= dt
        elif self.stage in ("round", "stop"):
            self.left -= self.rate(share) * dt
            if self.stage == "round":
                self.round_time += dt

    def boundary(self, share: float) -> None:
        p = self.p
        if self.stage in ("setup", "decide"):
            self.decide(share)
        elif self.stage == "round":
            dirtied = min(p.dirty_rate_bps * (1 - self.round_throttle) * self.round_time, p.working_set)
            self.rounds += 1
            self.mem_done += self.round_bytes
            self.dirty = dirtied
            self.cost = 1.0
            self.decide(share)
        elif self.stage == "stop":
            if p.switchover_overhead_s > 0:
                self.stage, self.left = "overhead", p.switchover_overhead_s
            else:
                self.finish()
        elif self.stage == "overhead":
            self.finish()

    def decide(self, share: float) -> None:
        p = self.p
        if self.dirty * self.cost <= min(share, self.cap) * self.c * p.max_downtime_s:
            self.converged = True
            self.stop()
        elif self.throttle_on:
            if self.throttled >= p.max_throttle_rounds:
                self.stop()
            else:
                t = min(round(p.throttle_initial + p.throttle_increment * self.throttled, 12), p.throttle_max)
                self.start_round(t)
        elif self.rounds >= p.max_rounds or self.mem_done > p.max_total_factor * p.memory_bytes:
            if p.on_no_convergence == "throttle":
                self.throttle_on = True
                self.start_round(p.throttle_initial)
            elif p.on_no_convergence == "force":
                self.stop()
            else:
                self.outcome = "aborted"
                self.stage = "done"
        else:
            self.start_round(0.0)

    def start_round(self, throttle: float) -> None:
        self.stage, self.left, self.round_bytes = "round", self.dirty, self.dirty
        self.round_time, self.round_throttle = 0.0, throttle
        if throttle > 0:
            self.throttled += 1

    def stop(self) -> None:
        self.stage, self.left, self.stop_start = "stop", self.dirty, self.elapsed

    def finish(self) -> None:
        self.stage = "done"
        self.outcome = "converged" if self.converged else "forced"


def plan_wave_plain(
    link: LinkSpec, migrations: Sequence[PrecopyParams], max_concurrent: int = 8
) -> tuple[float, list[Planned]]:
    """(makespan, [(start, end, downtime, rounds, outcome)] in input order) by the plain event loop."""
    n = len(migrations)
    out: list[Planned | None] = [None] * n
    starts = [0.0] * n
    active: list[tuple[int, _Move]] = []
    queued = 0
    now = 0.0
    while queued < n or active:
        while queued < n and len(active) < max_concurrent:
            active.append((queued, _Move(migrations[queued], link)))
            starts[queued] = now
            queued += 1
        on_wire = [m.consuming() for _, m in active]
        given = iter(fair_shares(link.bandwidth_bps, [m.cap for (_, m), w in zip(active, on_wire, strict=True) if w]))
        shares = [next(given) if w else 0.0 for w in on_wire]
        times = [m.time_to_boundary(s) for (_, m), s in zip(active, shares, strict=True)]
        dt = min(times)
        if not math.isfinite(dt):
            raise RuntimeError("no migration can progress")
        now += dt
        still = []
        for (k, m), s, t in zip(active, shares, times, strict=True):
            if t <= dt:
                m.step(t, s)
                m.boundary(s)
            else:
                m.step(dt, s)
            if m.stage == "done":
                downtime = 0.0 if m.outcome == "aborted" else m.elapsed - m.stop_start
                out[k] = (starts[k], now, downtime, m.rounds, m.outcome)
            else:
                still.append((k, m))
        active = still
    items = [item for item in out if item is not None]
    return (max(item[1] for item in items) if items else 0.0), items


def plan_wave_stepped(
    link: LinkSpec, migrations: Sequence[PrecopyParams], max_concurrent: int = 8
) -> tuple[float, list[tuple[float, float, PrecopyResult]]]:
    """(makespan, [(start_s, end_s, result)] in input order) by the engine's public steppable API."""
    n = len(migrations)
    out: list[tuple[float, float, PrecopyResult] | None] = [None] * n
    starts = [0.0] * n
    active: list[tuple[int, PrecopySimulation]] = []
    queued = 0
    now = 0.0
    while queued < n or active:
        while queued < n and len(active) < max_concurrent:
            active.append((queued, PrecopySimulation(migrations[queued], shared=True, link=link)))
            starts[queued] = now
            queued += 1
        given = iter(fair_shares(link.bandwidth_bps, [s.wire_cap_bps for _, s in active if s.consumes_bandwidth]))
        share = [next(given) if sim.consumes_bandwidth else 0.0 for _, sim in active]
        dt = min(sim.time_to_next_boundary(s) for (_, sim), s in zip(active, share, strict=True))
        if not math.isfinite(dt):
            raise RuntimeError("no migration can progress")
        for (_, sim), s in zip(active, share, strict=True):
            sim.advance(dt, s)
        now += dt
        still = []
        for k, sim in active:
            if sim.done:
                out[k] = (starts[k], now, sim.result())
            else:
                still.append((k, sim))
        active = still
    items = [item for item in out if item is not None]
    return (max(end for _, end, _ in items) if items else 0.0), items


_SETUP, _DECIDE, _ROUND, _STOP, _OVER, _DONE = range(6)


def plan_wave_flat(
    link: LinkSpec, migrations: Sequence[PrecopyParams], max_concurrent: int = 8
) -> tuple[float, list[float], list[int]]:
    """(makespan, ends, round counts) by the same event loop hand-inlined: one flat list per migration,
    no method call per step. For information (bench/engine.py prints its ratio, without a target)."""
    n = len(migrations)
    ends = [0.0] * n
    rounds_out = [0] * n
    act = []
    queued = 0
    now = 0.0
    bw = link.bandwidth_bps
    while queued < n or act:
        while queued < n and len(act) < max_concurrent:
            p = migrations[queued]
            c = p.compression_ratio if link.compression_ratio is None else link.compression_ratio
            _, cap, ramp = own_limit(p, {"rtt_s": link.rtt_s, "loss": link.loss, "compression_ratio": c})
            # [stage, left, cost, elapsed, round_time, round_bytes, round_thr, rounds, mem_done, dirty,
            #  thr_on, throttled, conv, stop_start, cap, c, p, index]
            act.append(
                [
                    _SETUP if ramp > 0 else _DECIDE,
                    ramp,
                    1.0 - p.zero_page_fraction,
                    0.0,
                    0.0,
                    0.0,
                    0.0,
                    0,
                    0.0,
                    float(p.memory_bytes),
                    False,
                    0,
                    False,
                    0.0,
                    cap,
                    c,
                    p,
                    queued,
                ]
            )
            queued += 1
        caps = [m[14] for m in act if m[0] <= _STOP]
        it = iter(fair_shares(bw, caps))
        shares = [next(it) if m[0] <= _STOP else 0.0 for m in act]
        ttbs = []
        dt = math.inf
        for m, s in zip(act, shares):  # noqa: B905 - hot loop, equal lengths by construction
            st = m[0]
            if st in (_ROUND, _STOP):
                left = m[1]
                if left <= 0.0:
                    t = 0.0
                else:
                    cap = m[14]
                    r = (s if s < cap else cap) * m[15] / m[2]
                    t = left / r if r > 0.0 else math.inf
            elif st == _DECIDE:
                t = 0.0
            else:
                t = m[1] if m[1] > 0.0 else 0.0
            ttbs.append(t)
            if t < dt:
                dt = t
        now += dt
        keep = []
        for m, s, t in zip(act, shares, ttbs):  # noqa: B905 - hot loop, equal lengths by construction
            st = m[0]
            step = t if t <= dt else dt
            m[3] += step
            if st in (_ROUND, _STOP):
                cap = m[14]
                m[1] -= (s if s < cap else cap) * m[15] / m[2] * step
                if st == _ROUND:
                    m[4] += step
            elif st != _DECIDE:
                m[1] -= step
            if t <= dt:
                _flat_boundary(m, s)
            if m[0] == _DONE:
                ends[m[17]] = now
                rounds_out[m[17]] = m[7]
            else:
                keep.append(m)
        act = keep
    return max(ends), ends, rounds_out


def _flat_boundary(m: list, s: float) -> None:
    st = m[0]
    p = m[16]
    if st in (_SETUP, _DECIDE):
        _flat_decide(m, s)
    elif st == _ROUND:
        dirtied = min(p.dirty_rate_bps * (1 - m[6]) * m[4], p.working_set)
        m[7] += 1
        m[8] += m[5]
        m[9] = dirtied
        m[2] = 1.0
        _flat_decide(m, s)
    elif st == _STOP:
        if p.switchover_overhead_s > 0:
            m[0] = _OVER
            m[1] = p.switchover_overhead_s
        else:
            m[0] = _DONE
    elif st == _OVER:
        m[0] = _DONE


def _flat_decide(m: list, s: float) -> None:
    p = m[16]
    cap = m[14]
    if m[9] * m[2] <= (s if s < cap else cap) * m[15] * p.max_downtime_s:
        m[12] = True
        m[0] = _STOP
        m[1] = m[9]
        m[13] = m[3]
    elif m[10]:
        if m[11] >= p.max_throttle_rounds:
            m[0] = _STOP
            m[1] = m[9]
            m[13] = m[3]
        else:
            _flat_round(m, min(round(p.throttle_initial + p.throttle_increment * m[11], 12), p.throttle_max))
    elif m[7] >= p.max_rounds or m[8] > p.max_total_factor * p.memory_bytes:
        if p.on_no_convergence == "throttle":
            m[10] = True
            _flat_round(m, p.throttle_initial)
        elif p.on_no_convergence == "force":
            m[0] = _STOP
            m[1] = m[9]
            m[13] = m[3]
        else:
            m[0] = _DONE
    else:
        _flat_round(m, 0.0)


def _flat_round(m: list, thr: float) -> None:
    m[0] = _ROUND
    m[1] = m[9]
    m[5] = m[9]
    m[4] = 0.0
    m[6] = thr
    if thr > 0:
        m[11] += 1


def main() -> int:
    """Standalone (`make bench` runs every bench/*.py): a small wave planned three ways must agree."""
    from engine import LINK, mixed_workloads, plan_wave

    workloads = mixed_workloads(1000)
    wave = plan_wave(LINK, workloads)
    ok = True
    for name, (makespan, items) in (
        ("plain", plan_wave_plain(LINK, workloads)),
        ("stepped", plan_wave_stepped(LINK, workloads)),
    ):
        worst = max(abs(item.end_s - planned[1]) for item, planned in zip(wave.items, items, strict=True))
        agree = abs(wave.makespan_s - makespan) <= 1e-9 * makespan and worst <= 1e-9 * makespan
        ok &= agree
        print(
            f"{name} reference vs plan_wave on 1,000 workloads: makespan {makespan:,.3f} s vs "
            f"{wave.makespan_s:,.3f} s, largest end difference {worst:.2g} s -> {'PASS' if agree else 'FAIL'} "
            "(the timings are in bench/engine.py)"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
