"""The plain oracle for plan_wave, shared by the engine's wave tests: at every event re-share the link among all
and step every migration, through the engine's public API only."""

from __future__ import annotations

from dataclasses import replace

from migration.engine import LinkSpec, PrecopyParams, PrecopySimulation, fair_shares


def wave_by_plain_stepping(
    link: LinkSpec, migrations: list[PrecopyParams], max_concurrent: int
) -> tuple[list[float], list[int]]:
    """Each migration's end and round count (input order) when, at every event, the link is re-shared among all and
    every migration is stepped."""
    on_link = [replace(p, rtt_s=link.rtt_s, loss=link.loss) for p in migrations]
    ends = [0.0] * len(on_link)
    rounds = [0] * len(on_link)
    active: list[tuple[int, PrecopySimulation]] = []
    queued, now = 0, 0.0
    while queued < len(on_link) or active:
        while queued < len(on_link) and len(active) < max_concurrent:
            active.append((queued, PrecopySimulation(on_link[queued], shared=True)))
            queued += 1
        given = iter(fair_shares(link.bandwidth_bps, [s.wire_cap_bps for _, s in active if s.consumes_bandwidth]))
        shares = [next(given) if s.consumes_bandwidth else 0.0 for _, s in active]
        dt = min(s.time_to_next_boundary(b) for (_, s), b in zip(active, shares, strict=True))
        for (_, s), b in zip(active, shares, strict=True):
            s.advance(dt, b)
        now += dt
        for k, s in active:
            if s.done:
                ends[k], rounds[k] = now, len(s.rounds)
        active = [(k, s) for k, s in active if not s.done]
    return ends, rounds
