"""Shared by the page benchmarks (bench/workloads_page.py, bench/pages.py); not a benchmark itself (`make bench`
skips bench/_*.py). Starts Django on a throwaway SQLite database and times server-side requests through the test
Client (no network), logged in as a superuser, counting every SQL statement.

Each request's wall time and CPU time (this process's, `time.process_time`) are both measured. The server runs in
this one thread and SQLite in this process, so the CPU time is what the request costs the machine, and what its wall
time is on an idle one; on this shared 2-core machine (load averages of 6-9 while the figures were taken) wall times
were 2-4x the CPU times. Absolute targets are judged on the CPU median, ratios on wall medians side by side."""

from __future__ import annotations

import io
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _env import use_bench_settings  # noqa: E402


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


@dataclass
class Timing:
    label: str
    url: str
    times_ms: list[float]
    queries: int
    cpu_ms: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95(self) -> float:
        return percentile(self.times_ms, 0.95)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_ms)


def start_django() -> tempfile.TemporaryDirectory:
    """Django on a fresh SQLite file in a temporary folder (DATABASE_URL is set before Django starts), migrated."""
    tmp = tempfile.TemporaryDirectory(prefix="hc-bench-")
    use_bench_settings(tmp.name)
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()  # allows the test Client's "testserver" host
    call_command("migrate", verbosity=0)
    return tmp


def seed(workloads: int, *, reset: bool = False, extensions: bool = False) -> float:
    """`seed_demo --workloads N --seed 42` (without seed_containers/seed_dr/seed_capacity unless `extensions`)."""
    from django.core.management import call_command

    started = time.monotonic()
    call_command(
        "seed_demo",
        workloads=workloads,
        seed=42,
        reset=reset,
        no_extensions=not extensions,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    return time.monotonic() - started


def superuser_client():
    from django.contrib.auth.models import User
    from django.test import Client

    client = Client()
    user = User.objects.filter(username="bench").first() or User.objects.create_superuser(
        "bench", "bench@example.com", "bench-password-123"
    )
    client.force_login(user)
    return client


def time_side_by_side(client, cases: list[tuple[str, str]], requests: int) -> dict[str, Timing]:
    """Each URL warmed 3 times and its queries counted once, then `requests` rounds in which every URL is requested
    once in turn (side by side, so a burst of load from elsewhere hits all of them alike)."""
    from django.db import connection

    results = {}
    for label, url in cases:
        for _ in range(3):  # warm caches (templates, connections)
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
        queries = QueryCounter()
        with connection.execute_wrapper(queries):
            client.get(url)
        results[label] = Timing(label, url, [], queries.count)
    for _ in range(requests):
        for label, url in cases:
            c0, t0 = time.process_time(), time.perf_counter()
            response = client.get(url)
            results[label].times_ms.append((time.perf_counter() - t0) * 1000)
            results[label].cpu_ms.append((time.process_time() - c0) * 1000)
            assert response.status_code == 200, (url, response.status_code)
    return results


def print_timings(results: dict[str, Timing]) -> None:
    print(f"{'request':<52}{'median ms':>11}{'p95 ms':>10}{'CPU ms':>9}{'queries':>9}")
    for t in results.values():
        print(f"{t.label:<52}{t.median:>11.1f}{t.p95:>10.1f}{t.cpu_median:>9.1f}{t.queries:>9}")
    print(f"(median and p95: wall time; CPU ms: median CPU time; load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores)")  # fmt: skip


def print_checks(checks: list[tuple[str, bool]]) -> bool:
    print()
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return all(ok for _, ok in checks)
