"""Benchmark: telemetry at 10,000 workloads: `seed_demo` end to end, a sampling tick, and the table's size after
retention.

Standalone: `python bench/telemetry.py [--workloads N] [--database-url URL]`. Uses its own temporary SQLite database
unless a database URL is given (e.g. `postgres://postgres@127.0.0.1:5432/hc_bench_telemetry`, created and dropped
here; rows then go through COPY). Prints each figure against its target and exits 1 on a miss:

- `seed_demo --workloads 10000` (inventory, containers, DR, capacity back-fill of a week) under 30 s in total;
- one sampling tick under 1 s (the hourly one, which also writes every workload's sample);
- two weeks of history are back-filled as the retention keeps them (a day of 5-minute host and site samples,
  hourly means before it, a day of hourly workload samples: `apply_retention` then changes nothing), and the table
  stays under the steady-state bound of the hourly retention.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _env import use_bench_settings  # noqa: E402

TARGET_SEED_S = 30.0
TARGET_TICK_S = 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=int, default=10_000)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="hc-bench-telemetry-")
    use_bench_settings(tmp.name, database_url=args.database_url)
    import django

    django.setup()
    from django.core.management import call_command, get_commands
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    from inventory.management.commands.seed_demo import EXTENSION_COMMANDS
    from migration.capacity.choices import Scope
    from migration.capacity.models import CapacitySettings, UtilisationSample
    from migration.capacity.sampling import apply_retention, backfill, sample_tick

    pg = connection.vendor == "postgresql"
    if pg:  # a throwaway test_<name> database, dropped at the end
        old_config = setup_databases(verbosity=0, interactive=False)
    else:
        call_command("migrate", verbosity=0)
    failures = []
    try:
        # -- seed_demo, step by step as it runs them (in one process) ------------------------------------------
        out = io.StringIO()
        steps = []
        t0 = time.perf_counter()
        call_command("seed_demo", workloads=args.workloads, no_extensions=True, stdout=out)
        steps.append(("seed_demo (inventory)", time.perf_counter() - t0))
        available = get_commands()
        for name in EXTENSION_COMMANDS:
            if name in available:
                t1 = time.perf_counter()
                call_command(name, seed=42, stdout=out, stderr=out)
                steps.append((name, time.perf_counter() - t1))
        total = sum(s for _, s in steps)
        rows = UtilisationSample.objects.count()
        capacity_s = dict(steps).get("seed_capacity", 0.0)
        print(f"seed_demo --workloads {args.workloads:,} on {connection.vendor}:")
        for name, seconds in steps:
            print(f"  {name:<24} {seconds:6.1f} s")
        print(f"  {'total':<24} {total:6.1f} s")
        by_scope = dict(
            UtilisationSample.objects.order_by().values_list("scope").annotate(n=django.db.models.Count("id"))
        )
        print(f"  utilisation rows written: {rows:,} ({', '.join(f'{k} {v:,}' for k, v in sorted(by_scope.items()))}), "
              f"{rows / capacity_s:,.0f} rows/s in seed_capacity")  # fmt: skip
        ok = total < TARGET_SEED_S
        print(f"{'PASS' if ok else 'FAIL'}: seed_demo under {TARGET_SEED_S:.0f} s in total ({total:.1f} s)")
        if not ok:
            failures.append("seed_demo")

        # -- one tick --------------------------------------------------------------------------------------------
        config = CapacitySettings.get()
        now = datetime.now(UTC)
        hourly_tick = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)  # workloads sampled too
        timings = {}
        for label, at in (
            ("with every workload", hourly_tick),
            ("hosts and sites only", hourly_tick + timedelta(minutes=5)),
        ):
            t0 = time.perf_counter()
            written = sample_tick(now=at)
            timings[label] = (time.perf_counter() - t0, written)
        t0 = time.perf_counter()
        again = sample_tick(now=hourly_tick)  # idempotent: nothing new
        again_s = time.perf_counter() - t0
        for label, (seconds, written) in timings.items():
            print(f"sampling tick, {label}: {seconds * 1000:.0f} ms ({written:,} rows)")
        print(f"the same tick again (nothing new stored): {again_s * 1000:.0f} ms ({again:,} rows given)")
        worst = max(s for s, _ in timings.values())
        ok = worst < TARGET_TICK_S
        print(f"{'PASS' if ok else 'FAIL'}: a sampling tick under {TARGET_TICK_S:.0f} s ({worst * 1000:.0f} ms)")
        if not ok:
            failures.append("tick")

        # -- retention -------------------------------------------------------------------------------------------
        UtilisationSample.objects.all().delete()
        end = now.replace(minute=0, second=0, microsecond=0)
        t0 = time.perf_counter()
        written = backfill(days=14, now=end)
        fill_s = time.perf_counter() - t0
        count = UtilisationSample.objects.count
        t0 = time.perf_counter()
        first = apply_retention(now=end)
        retention_s = time.perf_counter() - t0
        after_fill = count()
        later = apply_retention(now=end + timedelta(days=1))  # a day on: the raw day rolls up, workloads go
        a_day_on = count()
        n_hosts = UtilisationSample.objects.filter(scope=Scope.HOST).values("object_id").distinct().count()
        n_sites = UtilisationSample.objects.filter(scope=Scope.SITE).values("object_id").distinct().count()
        raw_days, hourly_days = config.raw_retention_days, config.hourly_retention_days
        per_object = raw_days * 288 + 1 + (hourly_days - raw_days) * 24 + 1
        bound = (n_hosts + n_sites) * per_object + args.workloads * (config.workload_retention_days * 24 + 1)
        size = ""
        if pg:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_total_relation_size(%s)", [UtilisationSample._meta.db_table])
                size = f", {cursor.fetchone()[0] / 2**20:.0f} MiB with its indexes"
        print(f"two weeks of history back-filled in {fill_s:.1f} s: {written:,} rows{size}; apply_retention right "
              f"after: {retention_s * 1000:.0f} ms, {first}; a day later: {later}, {a_day_on:,} rows")  # fmt: skip
        print(f"  steady state ({n_hosts} hosts + {n_sites} sites x ({raw_days} d x 288 + {hourly_days - raw_days} d x "
              f"24 hourly) + {args.workloads:,} workloads x {config.workload_retention_days} d x 24): at most "
              f"{bound:,} rows, whatever the history's length")  # fmt: skip
        ok = after_fill == written and first == {"downsampled": 0, "hourly_written": 0, "deleted": 0}
        ok = ok and max(written, a_day_on) <= bound
        print(f"{'PASS' if ok else 'FAIL'}: the back-fill is what the retention keeps (it changes nothing), and the "
              f"table stays under its bound")  # fmt: skip
        if not ok:
            failures.append("retention")
    finally:
        if pg:
            teardown_databases(old_config, verbosity=0)
        tmp.cleanup()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
