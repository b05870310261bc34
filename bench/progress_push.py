"""Progress-push latency: from the moment the worker publishes to the moment a websocket client receives.

100 migrations publish progress (about 8 messages a second each, as the driver's steps do, batched per step
like the driver) from a separate "worker" process through `migration.progress.publish_progress`; 20 clients,
each like a browser on a migration page (one /ws/migrations/<id>/ socket and one /ws/activity/ socket), receive
them through the real channel layer (settings.CHANNEL_LAYERS, on Redis) and the real consumers
(WebsocketCommunicator over the project's ASGI application, with real sessions). Prints median and p99 latency
and whether any message was lost (a gap in `seq` on any socket, or fewer messages than were published).

    .venv/bin/python bench/progress_push.py [--migrations 100] [--clients 20] [--seconds 8]

Uses REDIS_URL when set, else starts a private Redis; uses a throwaway SQLite database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_env(db_path: str) -> None:
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 40)
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "hybridcloud.settings"
    import django

    django.setup()


def prepare(n: int, clients: int) -> dict:
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.test import Client

    from migration.models import Migration
    from tests import factories

    call_command("migrate", verbosity=0)
    topo = factories.topology()
    hosts = [factories.host(topo.ca_cluster, f"bench-{i:03d}", memory_gib=4096) for i in range(n // 4 + 1)]
    topo.ca_datastore.hosts.add(*hosts)
    ids = []
    for i in range(n):
        vm = factories.workload(hosts[i // 4], name=f"bench-vm-{i:03d}", memory_gib=8)
        m = Migration.objects.create(
            workload=vm, source_host=vm.host, destination_host=topo.ca_hosts[0], source_datastore=vm.datastore,
            destination_datastore=vm.datastore, link_key=f"host:{vm.host_id}", state="precopy",
            memory_bytes=vm.memory_bytes, prediction={"bytes_sent": vm.memory_bytes * 1.2, "total_time_s": 100.0},
        )  # fmt: skip
        ids.append(m.pk)
    user = User.objects.create_user("bench", password="correct-horse-battery")
    user.groups.add(Group.objects.get_or_create(name="viewers")[0])
    cookies = []
    for _ in range(clients):
        c = Client()
        c.force_login(user)
        cookies.append(c.cookies["sessionid"].value)
    return {"ids": ids, "cookies": cookies}


def publisher(db_path: str, seconds: float, out: str) -> None:
    """The worker side: step every 0.125 s, one batch of pushes per step, like the driver."""
    setup_env(db_path)
    from migration import progress
    from migration.models import Migration

    migrations = list(Migration.objects.select_related("workload", "destination_host").order_by("pk"))
    seq = {m.pk: m.seq for m in migrations}
    sent = {m.pk: 0 for m in migrations}
    deadline = time.monotonic() + seconds
    step = 0
    while time.monotonic() < deadline:
        started = time.monotonic()
        step += 1
        with progress.batch():
            for m in migrations:
                if not progress.due(m.pk):
                    continue
                m.bytes_sent = min(m.memory_bytes * 1.2, step * 1e8)
                seq[m.pk] += 1
                m.seq = seq[m.pk]
                if progress.publish_progress(m, "progress"):
                    sent[m.pk] += 1
        time.sleep(max(0.0, 0.125 - (time.monotonic() - started)))
    Path(out).write_text(json.dumps({"sent": sent, "steps": step}))


async def clients_side(ids: list[int], cookies: list[str], stop_after: float) -> dict:
    from channels.testing import WebsocketCommunicator

    from hybridcloud.asgi import application

    latencies: list[float] = []
    activity_lat: list[float] = []
    migration_lat: list[float] = []
    gaps = 0
    received: dict[int, int] = {}
    activity_received = 0
    sockets = []
    for i, cookie in enumerate(cookies):
        headers = [
            (b"origin", b"http://localhost"),
            (b"host", b"localhost"),
            (b"cookie", f"sessionid={cookie}".encode()),
        ]
        for path in (f"/ws/migrations/{ids[i % len(ids)]}/", "/ws/activity/"):
            comm = WebsocketCommunicator(application, path, headers=headers)
            connected, code = await comm.connect(timeout=10)
            assert connected, f"{path} refused: {code}"
            snapshot = await comm.receive_json_from(timeout=10)
            assert snapshot["type"] == "snapshot"
            sockets.append((path, comm, snapshot["seq"]))

    async def read(path: str, comm, last_seq: int) -> None:
        nonlocal gaps, activity_received
        while True:
            try:
                message = await comm.receive_json_from(timeout=stop_after)
            except TimeoutError:
                return
            now = time.time()
            latencies.append((now - message["sent_at"]) * 1000)
            (activity_lat if path == "/ws/activity/" else migration_lat).append(latencies[-1])
            if path == "/ws/activity/":
                activity_received += 1
                if message["seq"] != last_seq + 1 and last_seq != 0:
                    gaps += 1
            else:
                mid = message["id"]
                received[mid] = received.get(mid, 0) + 1
                if message["seq"] != last_seq + 1:
                    gaps += 1
            last_seq = message["seq"]

    await asyncio.gather(*(read(path, comm, seq) for path, comm, seq in sockets))
    for _, comm, _ in sockets:
        with contextlib.suppress(asyncio.CancelledError, Exception):  # a read timeout already stopped the app
            await comm.disconnect()
    return {
        "migration_lat": migration_lat,
        "activity_lat": activity_lat,
        "latencies": latencies,
        "gaps": gaps,
        "received": received,
        "activity_received": activity_received,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--migrations", type=int, default=100)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--publisher", nargs=3, metavar=("DB", "SECONDS", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publisher:
        publisher(args.publisher[0], float(args.publisher[1]), args.publisher[2])
        return

    redis = None
    if not os.environ.get("REDIS_URL"):
        from hybridcloud.redis_server import ManagedRedis

        redis = ManagedRedis().start()
        os.environ["REDIS_URL"] = redis.url
    tmp = tempfile.mkdtemp(prefix="hc-bench-")
    db_path = os.path.join(tmp, "bench.sqlite3")
    out = os.path.join(tmp, "published.json")
    try:
        setup_env(db_path)
        from django.conf import settings

        data = prepare(args.migrations, args.clients)
        print(
            f"{args.migrations} migrations publishing for {args.seconds:g} s, {args.clients} clients "
            f"({args.clients} migration sockets + {args.clients} activity sockets), layer "
            f"{settings.CHANNEL_LAYERS['default']['BACKEND'].rsplit('.', 1)[-1]}"
        )

        async def run() -> dict:
            reader = asyncio.create_task(clients_side(data["ids"], data["cookies"], stop_after=3.0))
            await asyncio.sleep(1.0)  # every socket connected and subscribed before the first push
            proc = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--publisher", db_path, str(args.seconds), out, env=os.environ.copy()
            )
            await proc.wait()
            return await reader

        result = asyncio.run(run())
        published = json.loads(Path(out).read_text())
        watched = {data["ids"][i % len(data["ids"])] for i in range(args.clients)}
        expected = sum(published["sent"][str(mid)] for mid in watched)
        got = sum(result["received"].get(mid, 0) for mid in watched)
        lat = sorted(result["latencies"])
        p50 = statistics.median(lat)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        total_published = sum(published["sent"].values())
        print(
            f"published: {total_published} progress messages "
            f"({total_published / args.seconds:.0f}/s to migration groups)"
        )
        print(
            f"received: {len(lat)} messages ({got} on migration sockets, "
            f"{result['activity_received']} on activity sockets)"
        )
        print(f"latency publish -> receive: median {p50:.1f} ms, p99 {p99:.1f} ms, max {lat[-1]:.1f} ms")
        for name in ("migration_lat", "activity_lat"):
            part = sorted(result[name]) or [0.0]
            label = "migration sockets" if name == "migration_lat" else "activity sockets"
            p99_part = part[min(len(part) - 1, int(len(part) * 0.99))]
            print(f"  {label}: median {statistics.median(part):.1f} ms, p99 {p99_part:.1f} ms")
        lost = expected - got
        print(f"lost: {lost} of {expected} on migration sockets; seq gaps on any socket: {result['gaps']}")
        verdict = "PASS" if p99 < 100 and lost == 0 and result["gaps"] == 0 else "FAIL"
        print(f"target p99 < 100 ms and nothing lost: {verdict}")
    finally:
        if redis is not None:
            redis.stop()


if __name__ == "__main__":
    main()
