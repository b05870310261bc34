"""Benchmark: planning the evacuation of a 100,000-workload site end to end (`evacuation_plan`: the database reads,
every move's pre-checks with one shared context, placement on the destination site, `plan_wave`), under 5 s.

Standalone: `python bench/evacuation_100k.py [--workloads N] [--profile] [--db FILE]`. Uses its own temporary SQLite
database, or FILE (built on the first run, reused after: for profiling, as building takes about a minute).
The source site has 1,000 hosts (100 workloads each, 1-32 GiB, dirty rates up to 80 MB/s), the destination 1,000
empty hosts behind a 100 Gbit/s link; a few workloads sit on a segment the destination lacks (blocked, with the
pre-checks' reason). Prints the time, the plan's size and its predicted makespan, and PASS/FAIL; exits 1 on a miss.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _env import use_bench_settings  # noqa: E402

from hybridcloud.core.units import GIB  # noqa: E402

TARGET_S = 5.0


def build(workloads: int, hosts_per_site: int) -> tuple:
    import random

    from inventory.choices import CpuBaseline, SiteKind
    from inventory.models import CloudLink, Cluster, Datastore, Host, NetworkSegment, Site, Workload

    rng = random.Random(11)
    src = Site.objects.create(name="Old DC", kind=SiteKind.PRIVATE, provider="On-premises", location="Frankfurt",
                              latitude=50.1, longitude=8.7)  # fmt: skip
    dst = Site.objects.create(name="New DC", kind=SiteKind.PRIVATE, provider="On-premises", location="Amsterdam",
                              latitude=52.4, longitude=4.9)  # fmt: skip
    CloudLink.objects.create(site_a=src, site_b=dst, bandwidth_mbit=100_000, rtt_ms=8)
    hosts = {}
    for site in (src, dst):
        cluster = Cluster.objects.create(site=site, name=f"{site.name}-c", cpu_vendor="intel",
                                         cpu_baseline=CpuBaseline.INTEL_ICELAKE)  # fmt: skip
        Host.objects.bulk_create(
            (Host(cluster=cluster, name=f"{site.name.split()[0].lower()}-{i:04d}", cores=256, ghz=2.8,
                  memory_bytes=4096 * GIB, migration_nic_gbps=25) for i in range(hosts_per_site)),
            batch_size=1000,
        )  # fmt: skip
        hosts[site] = list(Host.objects.filter(cluster=cluster).order_by("pk"))
        ds = Datastore.objects.create(site=site, name=f"{site.name}-vsan", capacity_bytes=2**55)
        ds.hosts.set(hosts[site])
    shared = NetworkSegment.objects.create(name="shared", overlay_id=7001, cidr="10.0.0.0/9", gateway="10.0.0.1")
    shared.sites.set([src, dst])
    local = NetworkSegment.objects.create(name="old-only", overlay_id=7002, cidr="10.200.0.0/16", gateway="10.200.0.1")
    local.sites.set([src])
    ds = Datastore.objects.get(site=src)
    rows = []
    for n in range(workloads):
        memory = rng.choice((1, 2, 4, 4, 8, 8, 16, 32)) * GIB
        seg = local if n % 1000 == 0 else shared
        base = 200 if seg is local else 0
        rows.append(Workload(
            name=f"vm-{n:06d}", vcpus=rng.choice((1, 2, 2, 4)), memory_bytes=memory, disk_bytes=40 * GIB,
            host=hosts[src][n % hosts_per_site], datastore=ds, segment=seg,
            ip_address=f"10.{base + n // 64000}.{(n // 250) % 256}.{n % 250 + 2}",
            dirty_rate_bps=rng.randint(1, 80) * 1_000_000, working_set_bytes=int(memory * rng.uniform(0.1, 1.0)),
        ))  # fmt: skip
    Workload.objects.bulk_create(rows, batch_size=5000)
    return src, dst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", type=int, default=100_000)
    parser.add_argument("--hosts", type=int, default=1000, help="Hosts per site.")
    parser.add_argument("--profile", action="store_true", help="Print a profile of the planning (pyinstrument).")
    parser.add_argument("--db", type=Path, help="SQLite file to build once and reuse (default: a temporary one).")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="hc-bench-evacuation-")
    reuse = args.db is not None and args.db.exists()
    database = args.db.resolve() if args.db else Path(tmp.name) / "bench.sqlite3"
    use_bench_settings(tmp.name, database_url=f"sqlite:///{database}")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    if reuse:
        from inventory.models import Site

        src, dst = Site.objects.get(name="Old DC"), Site.objects.get(name="New DC")
    else:
        src, dst = build(args.workloads, args.hosts)
        print(f"Built {args.workloads:,} workloads on {args.hosts:,} hosts (and {args.hosts:,} empty ones) in "
              f"{time.perf_counter() - t0:.1f} s")  # fmt: skip
    import migration.capacity.waves as waves
    from migration.capacity.services.evacuations import evacuation_plan

    queries = [0]
    engine_s = [0.0]
    plan_wave = waves.plan_wave

    def timed_plan_wave(*args, **kwargs):  # the engine's share of the time, printed beside the total
        t = time.perf_counter()
        try:
            return plan_wave(*args, **kwargs)
        finally:
            engine_s[0] += time.perf_counter() - t

    waves.plan_wave = timed_plan_wave

    def count(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    profiler = None
    if args.profile:
        from pyinstrument import Profiler  # a development tool, not in the lock: pip install pyinstrument

        profiler = Profiler()
        profiler.start()
    with connection.execute_wrapper(count):
        t0 = time.perf_counter()
        plan = evacuation_plan(site=src, destination_site=dst)
        seconds = time.perf_counter() - t0
    if profiler is not None:
        profiler.stop()
        print(profiler.output_text(color=False, show_all=False))
    print(f"Evacuation plan of {src.name} onto {dst.name}: {len(plan.movable):,} moves, {len(plan.blocked):,} "
          f"blocked, {len(plan.warnings):,} warnings, predicted makespan {plan.prediction['makespan_s'] / 3600:.1f} h "
          f"in {plan.prediction['groups']} group(s); {queries[0]:,} queries")  # fmt: skip
    if plan.blocked:
        print(f"  e.g. {plan.blocked[0].workload.name}: {plan.blocked[0].reason}")
    ok = seconds < TARGET_S and len(plan.movable) + len(plan.blocked) == args.workloads
    print(f"{'PASS' if ok else 'FAIL'}: planned end to end in {seconds:.2f} s (target under {TARGET_S:.0f} s): "
          f"plan_wave {engine_s[0]:.2f} s, the reads, placement, pre-checks and the engine's inputs "
          f"{seconds - engine_s[0]:.2f} s")  # fmt: skip
    tmp.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
