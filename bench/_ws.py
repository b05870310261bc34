"""Shared by the websocket benchmarks (bench/progress_push.py, bench/migrations_in_flight.py); not a benchmark itself
(`make bench` skips bench/_*.py). The harness both carry: the environment of their processes on a throwaway SQLite
database, signed-in viewer sessions, a Daphne server with the project's consumers, real websocket clients in another
process (each like a browser on a migration page: one /ws/migrations/<id>/ and one /ws/activity/ socket), and the
stop of every process they started."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def bench_env(db_path: str) -> dict[str, str]:
    env = os.environ.copy()
    env.setdefault("SECRET_KEY", "bench-only-" + "x" * 40)
    env.update(
        DEBUG="0", SECURE_SSL_REDIRECT="0", LOG_LEVEL="WARNING", DATABASE_URL=f"sqlite:///{db_path}",
        DJANGO_SETTINGS_MODULE="hybridcloud.settings", PYTHONPATH=str(ROOT),
    )  # fmt: skip
    return env


def setup_django(db_path: str) -> None:
    os.environ.update(bench_env(db_path))
    import django

    django.setup()


def private_redis():
    """A private Redis (hybridcloud.redis_server.ManagedRedis), named in REDIS_URL, unless REDIS_URL is set already
    (then None): the caller stops what it gets."""
    from hybridcloud.redis_server import ManagedRedis

    if os.environ.get("REDIS_URL"):
        return None
    redis = ManagedRedis().start()
    os.environ["REDIS_URL"] = redis.url
    return redis


def percentile(values: list[float], q: float) -> float:
    values = sorted(values) or [0.0]
    return values[min(len(values) - 1, int(len(values) * q))]


def viewer_cookies(clients: int) -> list[str]:
    """One signed-in session (a viewer's) per client: the `sessionid` cookies."""
    from django.contrib.auth.models import Group, User
    from django.test import Client

    user = User.objects.create_user("bench", password="correct-horse-battery")
    user.groups.add(Group.objects.get_or_create(name="viewers")[0])
    cookies = []
    for _ in range(clients):
        c = Client()
        c.force_login(user)
        cookies.append(c.cookies["sessionid"].value)
    return cookies


def start_daphne(procs: list, env: dict[str, str], log: Path, port: int, timeout: float = 60) -> None:
    """Daphne on 127.0.0.1:`port` with the project's ASGI application (added to `procs`), once /health/ answers."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "hybridcloud.asgi:application"],
        env=env, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    procs.append(proc)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url + "/health/", timeout=2) as response:  # noqa: S310 - our own server
                if response.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("Daphne did not start:\n" + log.read_text()[-3000:])
        time.sleep(0.2)


def start_clients(
    procs: list, script: str, env: dict[str, str], url: str, spec: Path, ready: Path, done: Path, out: Path
) -> subprocess.Popen:
    """`script --clients-proc ...` in another process (it calls `run_clients`; added to `procs`), once all its
    sockets are open."""
    proc = subprocess.Popen(
        [sys.executable, script, "--clients-proc", url, str(spec), str(ready), str(done), str(out)],
        env=env, cwd=ROOT,
    )  # fmt: skip
    procs.append(proc)
    while not ready.exists():
        if proc.poll() is not None:
            raise SystemExit("the websocket clients could not connect")
        time.sleep(0.1)
    return proc


def run_clients(
    url: str, spec_path: str, ready_path: str, done_path: str, out: str,
    record: Callable[[dict, dict, float], None], fields: Callable[[dict], dict],
) -> None:  # fmt: skip
    """Real websocket clients: per signed-in cookie of the spec, a migration socket and an activity socket, each
    opened on its snapshot (`fields(snapshot)` starts what the socket records); every message received until
    `done_path` exists goes to `record(socket, message, receipt_time)`; what the sockets recorded is written to
    `out` as JSON."""
    from websockets.asyncio.client import connect

    spec = json.loads(Path(spec_path).read_text())
    ws_url = url.replace("http://", "ws://")

    async def run() -> list:
        sockets = []
        for i, cookie in enumerate(spec["cookies"]):
            mid = spec["ids"][i % len(spec["ids"])]
            for path in (f"/ws/migrations/{mid}/", "/ws/activity/"):
                ws = await connect(
                    ws_url + path, origin=url, additional_headers={"Cookie": f"sessionid={cookie}"}, max_queue=None,
                    compression=None,
                )  # fmt: skip
                snapshot = json.loads(await ws.recv())
                assert snapshot["type"] == "snapshot", snapshot
                sockets.append({"path": path, "ws": ws, **fields(snapshot)})
        Path(ready_path).write_text("ready")

        async def read(sock: dict) -> None:
            while True:
                try:
                    raw = await asyncio.wait_for(sock["ws"].recv(), timeout=0.5)
                except TimeoutError:
                    if os.path.exists(done_path):
                        return
                    continue
                record(sock, json.loads(raw), time.time())

        await asyncio.gather(*(read(s) for s in sockets))
        for s in sockets:
            await s["ws"].close()
        return [{k: v for k, v in s.items() if k != "ws"} for s in sockets]

    Path(out).write_text(json.dumps(asyncio.run(run())))


def stop(procs: list[subprocess.Popen], timeout: float) -> None:
    """Every process started, last first: terminated, killed if it does not end within `timeout` seconds."""
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
