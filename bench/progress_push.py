"""Progress-push latency: from the moment the worker publishes to the moment a websocket client receives.

Everything real, each side in its own process, as in production:

- the receiving side is a Daphne server (`python -m daphne`, a subprocess) running the project's ASGI application
  and its real consumers, over the real channel layer (settings.CHANNEL_LAYERS) on Redis;
- the 20 clients are real websocket clients (the `websockets` package) in another process, each like a browser on
  a migration page: one /ws/migrations/<id>/ socket and one /ws/activity/ socket, signed in with a real session;
- the publisher is a third process, like a Celery worker: 100 running migrations on 25 links (4 per host NIC, as
  admission allows on 1 GbE), each link stepped every `driver.STEP_INTERVAL_S` as its chain of `advance_link`
  tasks does, every step's pushes made the driver's way: after the step's commit, in one `events.batch()`, one
  `progress.publish_link_step` for the link (one event, a message per migration whose throttle is due) and the
  activity items that are due, which the publisher coalesces (at most one activity message a second per process,
  hybridcloud.core.events; its `sent_at` is when it leaves, so the latency below is not the time it was held).

Latency is the receipt time minus the `sent_at` epoch stamped in each message when it is published. Lost: on each
migration socket, every seq between the snapshot's and the last published must arrive (no gap, none missing);
on each activity socket, every seq of the shared activity counter after its snapshot must arrive.
`--burst` steps every link at once every 0.125 s (8 pushes a second per migration, in one batch), a harsher load
than the driver makes.

    .venv/bin/python bench/progress_push.py [--migrations 100] [--clients 20] [--seconds 10] [--burst]

Uses REDIS_URL when set, else starts a private Redis (hybridcloud.redis_server.ManagedRedis); a throwaway SQLite
database.
"""

from __future__ import annotations

import argparse
import json
import os
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

PER_LINK = 4


def prepare(n: int, clients: int) -> dict:
    from django.core.management import call_command

    from migration.models import Migration
    from tests import factories

    call_command("migrate", verbosity=0)
    topo = factories.topology()
    hosts = [factories.host(topo.ca_cluster, f"bench-{i:03d}", memory_gib=4096) for i in range(n // PER_LINK + 1)]
    topo.ca_datastore.hosts.add(*hosts)
    ids = []
    for i in range(n):
        vm = factories.workload(hosts[i // PER_LINK], name=f"bench-vm-{i:03d}", memory_gib=8)
        m = Migration.objects.create(
            workload=vm, source_host=vm.host, destination_host=topo.ca_hosts[0], source_datastore=vm.datastore,
            destination_datastore=vm.datastore, link_key=f"host:{vm.host_id}", state="precopy",
            memory_bytes=vm.memory_bytes, prediction={"bytes_sent": vm.memory_bytes * 1.2, "total_time_s": 100.0},
        )  # fmt: skip
        ids.append(m.pk)
    return {"ids": ids, "cookies": viewer_cookies(clients)}


# -- the worker side ---------------------------------------------------------------------------------------------


def publisher(db_path: str, seconds: float, burst: bool, out: str) -> None:
    """Steps links like the driver's chains and publishes each step's pushes the driver's way."""
    setup_django(db_path)
    from django.db import transaction

    from hybridcloud.core import events
    from migration import progress
    from migration.driver import STEP_INTERVAL_S
    from migration.models import Migration

    progress.warm_up()  # as a worker process does when it starts (migration.tasks)
    migrations = list(
        Migration.objects.select_related("workload", "source_host", "destination_host", "cloud_link").order_by("pk")
    )
    links: dict[str, list] = {}
    for m in migrations:
        links.setdefault(m.link_key, []).append(m)
    interval = 0.125 if burst else STEP_INTERVAL_S
    keys = sorted(links)
    # Independent chains: each link has its own phase in the interval (all at once with --burst).
    next_at = {key: 0.0 if burst else interval * i / len(keys) for i, key in enumerate(keys)}
    last_seq = {m.pk: m.seq for m in migrations}
    start = time.monotonic()
    stepped = 0
    while time.monotonic() - start < seconds:
        due_keys = [k for k in keys if time.monotonic() - start >= next_at[k]]
        if not due_keys:
            time.sleep(max(0.0, min(next_at.values()) - (time.monotonic() - start)))
            continue
        for key in due_keys:
            next_at[key] += interval
            stepped += 1
            with events.batch():  # the driver: a batch around the link's step
                due = []
                with transaction.atomic():
                    for m in links[key]:
                        m.bytes_sent = min(m.memory_bytes * 1.2, m.bytes_sent + 1.25e8 * interval)
                        m.memory_sent_bytes = m.bytes_sent
                        m.sim_elapsed_s += interval * m.simulation_speed
                        if progress.due(m.pk):
                            last_seq[m.pk] += 1
                            due.append(m)
                # After the commit, as the driver: the link's messages in one event.
                messages = {m.pk: [progress.progress_message(m, "progress", seq=last_seq[m.pk])] for m in due}
                progress.publish_link_step(key, messages)
    events.flush_activity()  # the activity items the publisher holds (coalesced, up to a second) leave first
    Path(out).write_text(json.dumps({"last_seq": last_seq, "steps": stepped, "activity_seq": events.activity_seq()}))


# -- the browsers' side ------------------------------------------------------------------------------------------


def clients(url: str, spec_path: str, ready_path: str, done_path: str, out: str) -> None:
    """Real websocket clients; records (receipt time - sent_at) per message, and the seqs seen per socket."""

    def fields(snapshot: dict) -> dict:
        return {"snapshot_seq": snapshot["seq"], "seqs": [], "lat": []}

    def record(sock: dict, message: dict, now: float) -> None:
        sock["lat"].append((now - message["sent_at"]) * 1000)
        sock["seqs"].append(message["seq"])

    run_clients(url, spec_path, ready_path, done_path, out, record, fields)


# -- the harness -------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--migrations", type=int, default=100)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--burst", action="store_true", help="every link at once, 8 pushes/s per migration")
    parser.add_argument("--publisher", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--clients-proc", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publisher:
        db, seconds, burst, out = args.publisher
        publisher(db, float(seconds), burst == "1", out)
        return 0
    if args.clients_proc:
        clients(*args.clients_proc)
        return 0

    from hybridcloud.redis_server import free_port

    redis = private_redis()
    tmp = Path(tempfile.mkdtemp(prefix="hc-bench-"))
    db_path = str(tmp / "bench.sqlite3")
    procs: list[subprocess.Popen] = []
    try:
        setup_django(db_path)
        from django.conf import settings

        data = prepare(args.migrations, args.clients)
        (tmp / "spec.json").write_text(json.dumps(data))
        env = bench_env(db_path)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        start_daphne(procs, env, tmp / "daphne.log", port)
        ready, done = tmp / "ready", tmp / "done"
        client_out, pub_out = tmp / "received.json", tmp / "published.json"
        client_proc = start_clients(procs, __file__, env, url, tmp / "spec.json", ready, done, client_out)
        load_before = os.getloadavg()
        print(
            f"{args.migrations} migrations ({args.migrations // PER_LINK} links) publishing for {args.seconds:g} s"
            f"{' (burst: every link every 0.125 s)' if args.burst else ''}; {args.clients} websocket clients "
            f"({args.clients} migration + {args.clients} activity sockets) on Daphne; layer "
            f"{settings.CHANNEL_LAYERS['default']['BACKEND'].rsplit('.', 1)[-1]}; "
            f"load average before {load_before[0]:.2f} on {os.cpu_count()} CPUs"
        )
        subprocess.run(
            [sys.executable, __file__, "--publisher", db_path, str(args.seconds), "1" if args.burst else "0",
             str(pub_out)], env=env, cwd=ROOT, check=True,
        )  # fmt: skip
        load_after = os.getloadavg()
        time.sleep(1.5)  # the last messages are in flight
        done.write_text("done")
        client_proc.wait(timeout=60)
        published = json.loads(pub_out.read_text())
        sockets = json.loads(client_out.read_text())
    finally:
        stop(procs, timeout=10)
        if redis is not None:
            redis.stop()

    lat = [x for s in sockets for x in s["lat"]]
    expected = received = gaps = 0
    for s in sockets:
        if s["path"] == "/ws/activity/":
            last = published["activity_seq"]
        else:
            last = published["last_seq"][s["path"].strip("/").rsplit("/", 1)[-1]]
        base = s["snapshot_seq"]
        if base == 0 and s["seqs"]:
            # The activity counter did not exist when the snapshot was read (it starts from the clock at its first
            # message): every message from the first one seen on must arrive.
            base = min(s["seqs"]) - 1
        want = list(range(base + 1, last + 1))
        expected += len(want)
        received += len(s["seqs"])
        gaps += len(set(want) - set(s["seqs"])) + sum(
            1 for a, b in zip(s["seqs"], s["seqs"][1:], strict=False) if b != a + 1
        )
    total_sent = sum(published["last_seq"].values())
    print(f"published: {published['steps']} link steps, {total_sent} progress pushes "
          f"({total_sent / args.seconds:.0f}/s), activity counter at {published['activity_seq']}")  # fmt: skip
    print(f"received: {received} messages of {expected} expected on {len(sockets)} sockets")
    print(f"latency publish -> receive: median {statistics.median(lat or [0]):.1f} ms, "
          f"p99 {percentile(lat, 0.99):.1f} ms, max {max(lat or [0]):.1f} ms")  # fmt: skip
    for label, path_test in (("migration sockets", lambda p: p != "/ws/activity/"), ("activity sockets", None)):
        part = [x for s in sockets if (path_test(s["path"]) if path_test else s["path"] == "/ws/activity/")
                for x in s["lat"]]  # fmt: skip
        print(f"  {label}: {len(part)} messages, median {statistics.median(part or [0]):.1f} ms, "
              f"p99 {percentile(part, 0.99):.1f} ms")  # fmt: skip
    if os.environ.get("BENCH_DEBUG"):
        for s in sockets[:4]:
            worst = sorted(range(len(s["lat"])), key=lambda i: -s["lat"][i])[:5]
            print("   ", s["path"], len(s["lat"]), [(i, round(s["lat"][i])) for i in worst])
    lost = expected - received
    print(f"lost: {lost}; seq gaps or missing: {gaps}; load average during the run {load_after[0]:.2f}")
    verdict = "PASS" if percentile(lat, 0.99) < 100 and lost == 0 and gaps == 0 and lat else "FAIL"
    print(f"target p99 < 100 ms and nothing lost: {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
