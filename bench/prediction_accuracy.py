"""How good is the prediction made before a start, in a world that varies?

200 seeded migrations (sizes, dirty rates, links, host stacks and start times drawn as in a real estate), each
predicted with `forecast_precopy` (only the world before its start: recent telemetry and the same hours
yesterday) and then run through the varying world with `run_in_world` (the same stepping the Celery driver
uses: dirty rates and link traffic change minute by minute). No Django.

Prints the median |predicted - actual| / actual on total time (target < 10 %), the share of actuals inside the
predicted p10-p90 range (target >= 80 %) and, so that a range cannot pass by being absurdly wide, the median width
of the range relative to the best estimate. Exits 1 when a target is missed.

    .venv/bin/python bench/prediction_accuracy.py [--migrations 200] [--seed 13]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hybridcloud.core.units import GIB, MIB  # noqa: E402
from migration.engine import PrecopyParams  # noqa: E402
from migration.engine.forecast import forecast_precopy  # noqa: E402
from migration.engine.world import (  # noqa: E402
    dirty_pattern_for,
    last_telemetry_s,
    link_pattern_for,
    run_in_world,
)

TARGET_MEDIAN_ERROR = 0.10
TARGET_COVERAGE = 0.80
#: A Monday, 00:00 UTC: start times fall over the two weeks after it, at any hour.
EPOCH = 1_764_547_200

# Links as in the demo estate: (Mbit/s, RTT ms, loss fraction, MTU, WAN compression, mean longitude of its sites)
LINKS = [
    (10_000, 65.0, 0.0, 1500, 2.0, -99.7),  # private line coast to coast
    (5_000, 20.0, 0.0, 1500, 1.0, -120.8),  # Direct Connect
    (1_000, 68.0, 0.0005, 1400, 1.0, -100.2),  # internet VPN to a public region
    (5_000, 2.0, 0.0, 1500, 1.0, -77.9),  # ExpressRoute next door
    (2_000, 70.0, 0.0002, 1400, 1.5, -98.6),  # VPN across the country
]
# Host migration stacks: (streams, socket buffer, cipher B/s, codec B/s, engine profile), as inventory's defaults
# and as the pre-checks predict them (a KVM source migrates by QEMU's rules).
STACKS = {
    "esxi": (4, None, 4_000_000_000, None, "generic"),
    "kvm": (1, 6 * MIB, 500_000_000, 500_000_000, "qemu"),
}


def scenario(rng: random.Random, k: int) -> dict:
    mbit, rtt_ms, loss, mtu, ratio, longitude = LINKS[rng.randrange(len(LINKS))]
    streams, buffer, cipher, codec, profile = STACKS["kvm" if rng.random() < 0.3 else "esxi"]
    memory = rng.choice([2, 4, 8, 16, 32, 64]) * GIB
    base_dirty = rng.uniform(2e6, 120e6)
    params = PrecopyParams(
        memory_bytes=float(memory),
        bandwidth_bps=rng.choice([10, 25]) * 125e6,
        dirty_rate_bps=base_dirty,
        working_set_bytes=float(memory * rng.uniform(0.05, 0.4)),
        max_downtime_s=rng.choice([0.3, 0.3, 0.5, 1.0]),
        compression_ratio=ratio,
        rtt_s=rtt_ms / 1000,
        loss=loss,
        streams=streams,
        socket_buffer_bytes=buffer,
        mss_bytes=mtu - 40,
        codec_rate_bps=codec,
        cipher_rate_bps=cipher,
        profile=profile,
    )
    return {
        "params": params,
        "start_s": EPOCH + rng.uniform(2 * 86_400, 16 * 86_400),
        "dirty": dirty_pattern_for(workload_id=1000 + k, base_bps=base_dirty, longitude=rng.choice([-122.0, -77.5])),
        "link": link_pattern_for(
            link_id=LINKS.index((mbit, rtt_ms, loss, mtu, ratio, longitude)) + 1, longitude=longitude
        ),  # fmt: skip
        "capacity_bps": mbit * 1e6 / 8,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--migrations", type=int, default=200)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    errors, inside, widths, signed = [], 0, [], []
    by_limit: dict[str, list[float]] = {}
    t_forecast = t_run = 0.0
    for k in range(args.migrations):
        s = scenario(rng, k)
        world = {"dirty": s["dirty"], "link": s["link"], "capacity_bps": s["capacity_bps"]}
        t0 = time.perf_counter()
        # As the pre-checks do: what is known ends at the last telemetry sample before the start.
        forecast = forecast_precopy(s["params"], start_s=last_telemetry_s(s["start_s"]), **world)
        t1 = time.perf_counter()
        actual = run_in_world(s["params"], origin_s=s["start_s"], **world).total_time_s
        t2 = time.perf_counter()
        t_forecast += t1 - t0
        t_run += t2 - t1
        predicted = forecast.total_time_s
        errors.append(abs(predicted - actual) / actual)
        signed.append((predicted - actual) / actual)
        inside += forecast.p10_s <= actual <= forecast.p90_s
        by_limit.setdefault(forecast.result.limit, []).append(errors[-1])
        widths.append((forecast.p90_s - forecast.p10_s) / predicted)
    n = args.migrations
    median_error = statistics.median(errors)
    coverage = inside / n
    deciles = statistics.quantiles(signed, n=10)
    print(f"{n} migrations in the varying world (seed {args.seed}):")
    print(
        f"  median |predicted - actual| / actual, total time: {median_error:.1%} (target < {TARGET_MEDIAN_ERROR:.0%})"
    )
    print(f"  90th percentile of that error: {statistics.quantiles(errors, n=10)[-1]:.1%}")
    print(f"  signed error (predicted - actual) / actual, p10 / p50 / p90: {deciles[0]:+.1%} / "
          f"{statistics.median(signed):+.1%} / {deciles[-1]:+.1%}")  # fmt: skip
    print(f"  actuals inside the predicted p10-p90 range: {coverage:.0%} (target >= {TARGET_COVERAGE:.0%})")
    print(f"  median width of the range, (p90 - p10) / best estimate: {statistics.median(widths):.1%}")
    print(
        "  by the limit that binds (count, median error): "
        + ", ".join(f"{name} {len(v)}, {statistics.median(v):.1%}" for name, v in sorted(by_limit.items()))
    )
    print(f"  time per forecast {1000 * t_forecast / n:.1f} ms, per run through the world {1000 * t_run / n:.1f} ms")
    ok = median_error < TARGET_MEDIAN_ERROR and coverage >= TARGET_COVERAGE
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
