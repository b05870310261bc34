"""Benchmark: importing an RVTools export of 10,000 VMs (xlsx and a zip of CSVs), then the same file again.

Standalone: `python bench/rvtools_import.py [--vms N]`. Uses its own temporary SQLite database (or DATABASE_URL if
given with --keep-database-url), migrates it, builds a synthetic export with the product's sample builder (real
RVTools headers), and times the whole import as `manage.py import_rvtools` runs it: reading (openpyxl read-only),
validating, and writing in one transaction; then the re-import (nothing changes). Counts the SQL statements of each
import: they must not grow with the VMs (bulk writes, prefetched lookups, no per-row queries). Prints a table and
PASS/FAIL against the target: 10,000 VMs in under 30 s; exits 1 on a miss.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _env import use_bench_settings  # noqa: E402

TARGET_S = 30.0
MAX_QUERIES = 400  # a fixed budget: ~100 batches at 10,000 VMs, whatever the number of rows


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=10_000)
    parser.add_argument("--keep-database-url", action="store_true", help="Use DATABASE_URL (e.g. PostgreSQL).")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="hc-bench-")
    use_bench_settings(tmp.name, database_url=os.environ.get("DATABASE_URL") if args.keep_database_url else None)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from inventory.importers.runs import rvtools_import
    from inventory.importers.samples import synthetic_sample, tabs_to_csv_zip, tabs_to_xlsx
    from inventory.models import Workload

    call_command("migrate", verbosity=0)
    tabs = synthetic_sample(vms=args.vms).tabs()
    files = {"xlsx": tabs_to_xlsx(tabs), "csv zip": tabs_to_csv_zip(tabs)}
    rows = []
    ok = True
    for label, data in files.items():
        Workload.objects.filter(estate__isnull=False).delete()
        for run in ("first import", "same file again"):
            counter = QueryCounter()
            started = time.perf_counter()
            with connection.execute_wrapper(counter):
                summary = rvtools_import(source=data, file_name=f"bench.{label.split()[-1]}")
            elapsed = time.perf_counter() - started
            rows.append((f"{label}, {run}", len(data) / 2**20, elapsed, counter.count, summary["headline"][:60]))
            if run == "first import":
                ok &= summary["counts"]["workloads"]["added"] in (args.vms, 0) and elapsed < TARGET_S
            else:
                ok &= summary["changes"] == 0 and elapsed < TARGET_S
            ok &= counter.count <= MAX_QUERIES
    print(f"RVTools import, {args.vms:,} VMs ({connection.vendor}); target < {TARGET_S:.0f} s, ≤ {MAX_QUERIES} queries")
    print(f"{'case':<30} {'file MiB':>9} {'seconds':>8} {'queries':>8}  summary")
    for label, size, seconds, queries, headline in rows:
        print(f"{label:<30} {size:>9.1f} {seconds:>8.2f} {queries:>8}  {headline}")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
