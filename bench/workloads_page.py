"""Benchmark: the workloads page at 10,000 workloads beside the Django admin change list, and alone at 100,000.

Standalone: `python bench/workloads_page.py [--requests R] [--small N] [--large N]`. Uses its own temporary SQLite
database, seeds the demo with `seed_demo` (10,000 workloads, then again with 100,000), and times server-side
requests through Django's test Client (no network), logged in as a superuser; the page and the admin change list are
requested in turn, side by side in one run. Targets (issue #19): at 10,000 workloads the page's median at most 0.5x
the admin change list's (wall times, side by side); at 100,000 the page's median under 100 ms (judged on CPU time:
wall times on this shared machine are mostly waiting for a core, see bench/_pages.py); its query count the same at
both sizes. Prints a table and PASS/FAIL; exits 1 on a miss.
"""

from __future__ import annotations

import argparse
import sys

from _pages import print_checks, print_timings, seed, start_django, superuser_client, time_side_by_side

RATIO_TARGET = 0.5
LARGE_TARGET_MS = 100.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=10_000, help="Workloads for the side-by-side run.")
    parser.add_argument("--large", type=int, default=100_000, help="Workloads for the large run.")
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()

    tmp = start_django()
    from django.conf import settings

    from inventory.models import Site

    seed_small_s = seed(args.small)
    client = superuser_client()
    site = Site.objects.order_by("pk").first()
    admin = "/" + settings.ADMIN_URL + "inventory/workload/"
    small = time_side_by_side(
        client,
        [
            ("workloads page", "/workloads/"),
            ("admin change list", admin),
            ("workloads page, sorted by site, page 100", "/workloads/?ordering=site&page=100"),
            ("workloads page, kind+site filter", f"/workloads/?kind=container_vm&site={site.pk}"),
            ("workloads page, search", "/workloads/?q=web-frontend-1"),
            ("admin change list, search", admin + "?q=web-frontend-1"),
        ],
        args.requests,
    )
    print(f"{args.small:,} workloads (seeded in {seed_small_s:.1f} s), {args.requests} rounds:\n")
    print_timings(small)

    seed_large_s = seed(args.large, reset=True)
    client = superuser_client()
    site = Site.objects.order_by("pk").first()
    large = time_side_by_side(
        client,
        [
            ("workloads page", "/workloads/"),
            ("admin change list", admin),
            ("workloads page, sorted by memory, descending", "/workloads/?ordering=-memory"),
            ("workloads page, sorted by vCPUs, page 300", "/workloads/?ordering=vcpus&page=300"),
            ("workloads page, sorted by site, page 100", "/workloads/?ordering=site&page=100"),
            ("workloads page, kind+site filter", f"/workloads/?kind=container_vm&site={site.pk}"),
            ("workloads page, search", "/workloads/?q=web-frontend-1"),
        ],
        args.requests,
    )
    print(f"\n{args.large:,} workloads (seeded in {seed_large_s:.1f} s), {args.requests} rounds:\n")
    print_timings(large)

    page, admin_row = small["workloads page"], small["admin change list"]
    ratio = page.median / admin_row.median
    ok = print_checks(
        [
            (
                f"{args.small:,} workloads: page {page.median:.1f} ms = {ratio:.2f}x the admin change list's "
                f"{admin_row.median:.1f} ms (median, side by side; target <= {RATIO_TARGET}x)",
                ratio <= RATIO_TARGET,
            ),
            (
                f"{args.large:,} workloads: page median CPU time {large['workloads page'].cpu_median:.1f} ms, wall "
                f"{large['workloads page'].median:.1f} ms (target < {LARGE_TARGET_MS:.0f} ms, judged on CPU time)",
                large["workloads page"].cpu_median < LARGE_TARGET_MS,
            ),
            (
                f"queries per page the same at {args.small:,} and {args.large:,} workloads "
                f"({page.queries} and {large['workloads page'].queries})",
                page.queries == large["workloads page"].queries,
            ),
        ]
    )
    tmp.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
