"""Benchmark: the overview and capacity pages at 10,000 workloads (target: median under 300 ms each).

Standalone: `python bench/pages.py [--workloads N] [--requests R]`. Uses its own temporary SQLite database, seeds
the whole demo with `seed_demo --workloads N` (containers, DR plans and a week of capacity telemetry included, as
`make run` does), then times server-side requests through Django's test Client (no network), logged in as a
superuser, the pages requested in turn. Prints each page's median, p95, CPU time and queries, then PASS/FAIL on
the median CPU time (wall times on this shared machine are mostly waiting for a core: see bench/_pages.py); exits 1
on a miss.
"""

from __future__ import annotations

import argparse
import sys

from _pages import print_checks, print_timings, seed, start_django, superuser_client, time_side_by_side

TARGET_MS = 300.0
TARGETED = ("overview", "capacity, 24 hours")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=20)
    args = parser.parse_args()

    tmp = start_django()
    from migration.capacity.models import UtilisationSample

    seed_s = seed(args.workloads, extensions=True)
    samples = UtilisationSample.objects.count()
    client = superuser_client()
    results = time_side_by_side(
        client,
        [
            ("overview", "/"),
            ("capacity, 24 hours", "/capacity/"),
            ("capacity, 7 days (for information)", "/capacity/?range=7d"),
        ],
        args.requests,
    )
    print(
        f"{args.workloads:,} workloads and {samples:,} utilisation samples (the whole demo seeded in {seed_s:.1f} s), "
        f"{args.requests} rounds:\n"
    )
    print_timings(results)
    ok = print_checks(
        [(f"{label}: median CPU time {results[label].cpu_median:.1f} ms, wall {results[label].median:.1f} ms "
          f"(target < {TARGET_MS:.0f} ms, judged on CPU time: see bench/_pages.py)",
          results[label].cpu_median < TARGET_MS) for label in TARGETED]
    )  # fmt: skip
    tmp.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
