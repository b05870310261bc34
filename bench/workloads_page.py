"""Benchmark: the workloads page at 10,000 workloads, beside the Django admin change list of the same model.

Standalone: `python bench/workloads_page.py [--workloads N] [--requests R]`. Uses its own temporary SQLite
database (DATABASE_URL is set before Django starts), migrates it, seeds the demo with `seed_demo`, then times
server-side requests through Django's test Client (no network), logged in as a superuser. Prints a table and
PASS/FAIL against the targets: median under 150 ms, and no slower than the admin change list.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_MEDIAN_MS = 150.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


class QueryCounter:
    """Counts every SQL statement (works whatever DEBUG is, unlike connection.queries)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="hc-bench-")
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp.name}/bench.sqlite3"
    os.environ["HYBRIDCLOUD_VAR_DIR"] = tmp.name
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hybridcloud.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-" + "x" * 40)
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
    os.environ.setdefault("WHITENOISE_USE_FINDERS", "1")  # no collectstatic manifest in a throwaway var dir
    os.environ.setdefault("LOG_LEVEL", "WARNING")

    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()  # allows the test Client's "testserver" host
    call_command("migrate", verbosity=0)
    started = time.monotonic()
    call_command("seed_demo", workloads=args.workloads, seed=42, no_extensions=True, stdout=io.StringIO())
    seed_s = time.monotonic() - started

    from inventory.models import Site, Workload

    client = Client()
    client.force_login(User.objects.create_superuser("bench", "bench@example.com", "bench-password-123"))
    site = Site.objects.order_by("pk").first()
    admin = "/" + settings.ADMIN_URL + "inventory/workload/"
    cases = [
        ("workloads page", "/workloads/"),
        ("admin change list", admin),
        ("workloads page, sorted by site, page 100", "/workloads/?ordering=site&page=100"),
        ("workloads page, kind+site filter", f"/workloads/?kind=container_vm&site={site.pk}"),
        ("workloads page, search", "/workloads/?q=web-frontend-1"),
        ("admin change list, search", admin + "?q=web-frontend-1"),
    ]
    results = {}
    for label, url in cases:
        for _ in range(3):  # warm caches (templates, connections)
            assert client.get(url).status_code == 200, url
        queries = QueryCounter()
        with connection.execute_wrapper(queries):
            client.get(url)
        times = []
        for _ in range(args.requests):
            t0 = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200
        results[label] = (statistics.median(times), percentile(times, 0.95), queries.count)

    print(f"Seeded {Workload.objects.count():,} workloads in {seed_s:.1f} s; {args.requests} requests per row.\n")
    print(f"{'request':<44}{'median ms':>11}{'p95 ms':>10}{'queries':>9}")
    for label, (median, p95, n) in results.items():
        print(f"{label:<44}{median:>11.1f}{p95:>10.1f}{n:>9}")
    page, admin_row = results["workloads page"], results["admin change list"]
    checks = [
        (f"workloads page median < {TARGET_MEDIAN_MS:.0f} ms", page[0] < TARGET_MEDIAN_MS),
        ("workloads page no slower than the admin change list (median)", page[0] <= admin_row[0]),
    ]
    print()
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    tmp.cleanup()
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
