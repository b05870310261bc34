"""A plain event-loop wave planner, the yardstick `plan_wave` is measured against (bench/engine.py).

It is what one writes first with the engine's public, steppable API, and what the Celery driver does
(`migration.driver.advance_together`): at every event it re-computes every share by water-filling
(`fair_shares`), finds the next boundary of any migration (`time_to_next_boundary`), and steps
*every* active migration by that much (`advance`), round by round. Same rules as `plan_wave` (FIFO
queue, at most `max_concurrent`, shares capped by each migration's own transport rate, the link's
RTT and loss applied to each migration), so it must give the same makespan; bench/engine.py checks
that before it compares the times. Nothing in it is slowed down on purpose: it makes the same
O(1)-per-step calls as the driver, and only `plan_wave`'s bookkeeping (re-sharing only when the set
of migrations on the wire changes, stepping only the migration whose boundary is due) is missing.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from migration.engine import LinkSpec, PrecopyParams, PrecopyResult, PrecopySimulation, fair_shares  # noqa: E402
from migration.engine.wave import _on_link  # noqa: E402


def plan_wave_reference(
    link: LinkSpec, migrations: Sequence[PrecopyParams], max_concurrent: int = 8
) -> tuple[float, list[tuple[float, float, PrecopyResult]]]:
    """(makespan, [(start_s, end_s, result) in input order]) of the wave, by the plain event loop."""
    migrations = _on_link(link, migrations)  # the same inputs as plan_wave (the link's RTT, loss, ratio)
    n = len(migrations)
    out: list[tuple[float, float, PrecopyResult] | None] = [None] * n
    starts = [0.0] * n
    active: list[tuple[int, PrecopySimulation]] = []
    queued = 0
    now = 0.0
    while queued < n or active:
        while queued < n and len(active) < max_concurrent:
            active.append((queued, PrecopySimulation(migrations[queued], shared=True)))
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


def main() -> int:
    """Standalone (`make bench` runs every bench/*.py): a small wave planned both ways must agree."""
    from engine import LINK, mixed_workloads, plan_wave

    workloads = mixed_workloads(1000)
    wave = plan_wave(LINK, workloads)
    makespan, items = plan_wave_reference(LINK, workloads)
    worst = max(abs(item.end_s - end) for item, (_, end, _) in zip(wave.items, items, strict=True))
    ok = abs(wave.makespan_s - makespan) <= 1e-9 * makespan and worst <= 1e-9 * makespan
    print(
        f"reference planner vs plan_wave on 1,000 workloads: makespan {makespan:,.3f} s vs {wave.makespan_s:,.3f} s, "
        f"largest end difference {worst:.2g} s -> {'PASS' if ok else 'FAIL'} (the timing is in bench/engine.py)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
