"""Benchmark: a thousand migrations in flight (a site evacuation, running plus queued) on 2 worker processes.

Everything real, each in its own process: a Redis (hybridcloud.redis_server.ManagedRedis, unless REDIS_URL is set), a
Celery worker (`celery -A hybridcloud worker -c 2`, prefork) running the driver's chains of `advance_link` steps, a
Daphne server with the project's consumers, and 20 websocket clients (bench/progress_push.py's, each with one
/ws/migrations/<id>/ and one /ws/activity/ socket, signed in).

The inventory: a site of 1 GbE-free hosts (10 GbE, 8 moves each) evacuated to four sites over four 10 Gbit/s links
(40 moves at once each, one per 250 Mbit/s), `--migrations` live moves started through `migration_start` before the
worker runs, so admission runs them 160 at once and queues the rest first come first served. Small guests at
simulation speed 10 end within seconds, so queued moves start all along the run.

Measured, against targets (exit 1 on a miss):
- step duration per link (recorded by each `advance_link` task), p50 and p99, against the 0.25 s step interval;
- worker CPU (psutil: the worker and its children), as a share of the machine's cores;
- advance interval per running migration: the largest gap between two consecutive steps of one migration (its
  `last_step_at`, polled every 50 ms), target at most 1 s;
- queued-start lag: from its admission (the step in which a slot freed) to its first step, in steps, target: the
  next step (at most 1 step interval, with 0.1 s for the step itself);
- push latency, publish to websocket receipt (the `sent_at` stamped in each message), p50 and p99 < 100 ms.

    .venv/bin/python bench/migrations_in_flight.py [--migrations 1000] [--seconds 30] [--clients 20]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _ws import (
    ROOT,
    bench_env,
    percentile,
    private_redis,
    run_clients,
    setup_django,
    start_clients,
    start_daphne,
    stop,
    viewer_cookies,
)


def clients(url: str, spec_path: str, ready_path: str, done_path: str, out: str) -> None:
    """Real websocket clients, as progress_push's: the latency of every message stamped `sent_at` (progress and
    state pushes), and a count of the others (workload changes and the like, not stamped)."""

    def fields(snapshot: dict) -> dict:
        return {"lat": [], "unstamped": 0}

    def record(sock: dict, message: dict, now: float) -> None:
        if "sent_at" in message:
            sock["lat"].append((now, (now - message["sent_at"]) * 1000))
        else:
            sock["unstamped"] += 1

    run_clients(url, spec_path, ready_path, done_path, out, record, fields)


DEST_SITES = 4
LINK_MBIT = 10_000
TARGET_ADVANCE_S = 1.0
TARGET_P99_MS = 100.0
WARM_UP_S = 3.0


def prepare(n: int, clients: int) -> dict:
    """The evacuation: `n` moves from one site to four, started through admission (no worker runs yet)."""
    from django.core.management import call_command

    from migration import chains, progress
    from migration.choices import RUNNING_STATES, MigrationState
    from migration.models import Migration
    from migration.services import migration_start
    from tests import factories

    call_command("migrate", verbosity=0, stdout=io.StringIO())
    # The worker is not up yet: its first act is a watchdog that kicks every running link.
    chains.kick_link = lambda key, force=False: True
    chains.kick_admission = lambda: None
    progress.publish_progress = lambda *a, **k: None
    topo = factories.topology()
    src_hosts = [factories.host(topo.ca_cluster, f"evac-{i:03d}", memory_gib=8192) for i in range(24)]
    topo.ca_datastore.hosts.add(*src_hosts)
    destinations = []
    for d in range(DEST_SITES):
        site = factories.site(f"Target {d + 1}", lon=-100.0 + d)
        cluster = factories.cluster(site, f"target-{d + 1}")
        hosts = [factories.host(cluster, f"t{d + 1}-{i:02d}", memory_gib=8192) for i in range(6)]
        factories.datastore(site, f"t{d + 1}-ds", hosts)
        topo.stretched.sites.add(site)
        factories.link(topo.ca, site, mbit=LINK_MBIT, rtt_ms=10.0)
        destinations.append(hosts)
    started = time.monotonic()
    for i in range(n):
        vm = factories.workload(
            src_hosts[i % len(src_hosts)],
            segment=topo.stretched,
            memory_gib=1 + (i % 3),
            disk_gib=2,
            dirty_rate_bps=5_000_000,
        )
        hosts = destinations[i % DEST_SITES]
        migration_start(
            workload=vm, destination_host=hosts[(i // DEST_SITES) % len(hosts)], override_reason="bench evacuation",
            simulation_speed=10.0,
        )  # fmt: skip
    running = list(Migration.objects.filter(state__in=RUNNING_STATES).values_list("pk", flat=True).order_by("pk"))
    queued = Migration.objects.filter(state=MigrationState.QUEUED).count()
    return {
        "ids": running[:clients], "cookies": viewer_cookies(clients), "running": len(running), "queued": queued,
        "start_s": time.monotonic() - started,
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--migrations", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients-proc", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.clients_proc:
        clients(*args.clients_proc)
        return 0

    import psutil

    from hybridcloud.redis_server import free_port

    redis = private_redis()
    tmp = Path(tempfile.mkdtemp(prefix="hc-bench-"))
    db_path = str(tmp / "bench.sqlite3")
    procs: list[subprocess.Popen] = []
    try:
        setup_django(db_path)
        data = prepare(args.migrations, args.clients)
        (tmp / "spec.json").write_text(json.dumps(data))
        print(f"{data['running'] + data['queued']:,} migrations in flight: {data['running']} running, "
              f"{data['queued']} queued (started through admission in {data['start_s']:.0f} s); "
              f"{DEST_SITES} links of {LINK_MBIT:,} Mbit/s; {args.clients} websocket clients; "
              f"{args.seconds:g} s")  # fmt: skip
        env = bench_env(db_path)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        start_daphne(procs, env, tmp / "daphne.log", port)
        ready, done, client_out = tmp / "ready", tmp / "done", tmp / "received.json"
        client_proc = start_clients(procs, __file__, env, url, tmp / "spec.json", ready, done, client_out)

        from django.db import connection

        from migration.chains import recent_step_seconds
        from migration.choices import RUNNING_STATES
        from migration.driver import STEP_INTERVAL_S
        from migration.models import Migration, MigrationEvent

        worker_log = tmp / "worker.log"
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "hybridcloud", "worker", "-c", "2", "--pool", "prefork",
             "--loglevel", "WARNING", "-n", f"bench-{os.getpid()}@%h"],
            env=env, cwd=ROOT, stdout=worker_log.open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        procs.append(worker)
        wp = psutil.Process(worker.pid)
        # Watch every running migration's steps until the time is up.
        seen: dict[int, object] = {}
        gaps: dict[int, float] = {}
        cpu_start = measure_from = first_step = deadline = None
        t0 = time.monotonic()
        while deadline is None or time.monotonic() < deadline:
            rows = Migration.objects.filter(state__in=RUNNING_STATES, last_step_at__isnull=False).values_list(
                "pk", "last_step_at"
            )
            for pk, at in rows:
                before = seen.get(pk)
                if before is not None and at != before and measure_from is not None and before >= measure_from:
                    gaps[pk] = max(gaps.get(pk, 0.0), (at - before).total_seconds())
                seen[pk] = at
            if first_step is None and seen:
                first_step = time.monotonic()
            if cpu_start is None and first_step is not None and time.monotonic() - first_step > WARM_UP_S:
                # Measured from WARM_UP_S after the first step: the worker's start-up (which takes from a few to
                # tens of seconds on a loaded machine) and its first steps are not counted.
                procs_now = [wp, *wp.children(recursive=True)]
                cpu_start = (time.monotonic(), sum(sum(p.cpu_times()[:2]) for p in procs_now), procs_now)
                measure_from = Migration.objects.order_by("-last_step_at").values_list("last_step_at", flat=True)[0]
                measure_epoch, steps_before = time.time(), len(recent_step_seconds())
                deadline, load_before = time.monotonic() + args.seconds, os.getloadavg()[0]
            if first_step is None and time.monotonic() - t0 > 180:
                raise SystemExit("the worker took no step in 180 s:\n" + worker_log.read_text()[-3000:])
            connection.close()
            time.sleep(0.05)
        load_after = os.getloadavg()[0]
        t_end, procs_now = time.monotonic(), cpu_start[2]
        cpu_s = sum(sum(p.cpu_times()[:2]) for p in procs_now if p.is_running()) - cpu_start[1]
        cpu_share = cpu_s / (t_end - cpu_start[0]) / (psutil.cpu_count() or 1)
        time.sleep(1.0)
        done.write_text("done")
        client_proc.wait(timeout=60)
        sockets = json.loads(client_out.read_text())
        steps = recent_step_seconds()[: max(0, len(recent_step_seconds()) - steps_before)]  # newest first
        # Queued moves admitted during the measured part: admission to first step.
        lags = []
        admitted = MigrationEvent.objects.filter(kind="admitted", at__gte=measure_from).values_list(
            "migration_id", "at"
        )
        firsts = dict(
            Migration.objects.filter(pk__in=[m for m, _ in admitted], precopy_started_at__isnull=False).values_list(
                "pk", "precopy_started_at"
            )
        )
        for pk, at in admitted:
            if pk in firsts:
                lags.append((firsts[pk] - at).total_seconds())
        completed = Migration.objects.filter(state="completed").count()
        still_queued = Migration.objects.filter(state="queued").count()
    finally:
        stop(procs, timeout=15)
        if redis is not None:
            redis.stop()
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)

    print(
        f"measured for {args.seconds:g} s from {WARM_UP_S:g} s after the worker's first step (its start-up not "
        f"counted); load average {load_before:.2f} before, {load_after:.2f} after, on {os.cpu_count()} CPUs"
    )
    by_link: dict[str, list[float]] = {}
    for key, seconds in steps:
        by_link.setdefault(key, []).append(seconds)
    lat = [ms for s in sockets for at, ms in s["lat"] if at >= measure_epoch]
    kept = f"; worker log {worker_log}" if os.environ.get("BENCH_KEEP") else " (BENCH_KEEP=1 keeps the logs)"
    print(f"after the run: {completed} completed, {still_queued} still queued{kept}")
    print(f"\n{'link':<12}{'steps':>7}{'p50 s':>9}{'p99 s':>9}  (interval {STEP_INTERVAL_S} s)")
    for key in sorted(by_link):
        values = by_link[key]
        print(f"{key:<12}{len(values):>7}{statistics.median(values):>9.3f}{percentile(values, 0.99):>9.3f}")
    all_steps = [s for _, s in steps]
    worst_gap = max(gaps.values(), default=float("inf"))
    lag_steps = [x / STEP_INTERVAL_S for x in lags]
    p99 = percentile(lat, 0.99)
    print(f"\nworker CPU: {cpu_share:.0%} of {psutil.cpu_count()} cores (the worker and its 2 processes)")
    print(f"advance interval per running migration: max {worst_gap:.2f} s over {len(gaps)} migrations, "
          f"p99 of their maxima {percentile(list(gaps.values()), 0.99):.2f} s")  # fmt: skip
    print(f"queued-start lag: {len(lags)} moves admitted, p50 {statistics.median(lag_steps or [0]):.2f} steps, "
          f"p99 {percentile(lag_steps, 0.99):.2f}, max {max(lag_steps or [0]):.2f} steps")  # fmt: skip
    print(f"push latency: {len(lat)} messages on {len(sockets)} sockets, p50 {statistics.median(lat or [0]):.1f} ms, "
          f"p99 {p99:.1f} ms")  # fmt: skip
    checks = [
        (f"step duration p99 < {STEP_INTERVAL_S} s on every link",
         bool(by_link) and all(percentile(v, 0.99) < STEP_INTERVAL_S for v in by_link.values())),
        (f"every running migration advances at least every {TARGET_ADVANCE_S:g} s", worst_gap <= TARGET_ADVANCE_S),
        ("a queued move starts at the next step after its slot frees (lag <= 1 step + 0.1 s)",
         bool(lags) and max(lags) <= STEP_INTERVAL_S + 0.1),
        (f"push latency p99 < {TARGET_P99_MS:g} ms", bool(lat) and p99 < TARGET_P99_MS),
        ("median step well within the interval (< 0.5 x)", statistics.median(all_steps or [1]) < STEP_INTERVAL_S / 2),
    ]  # fmt: skip
    print()
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
