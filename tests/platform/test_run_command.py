"""The process manager: `manage.py run` (what `make run` calls) starts the stack, serves, and leaves nothing behind."""

import http.cookiejar
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psutil
import pytest
from websockets.sync.client import connect

from hybridcloud.redis_server import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


class StackProcess:
    """`manage.py run` in a fresh var directory, with no REDIS_URL, so it starts its own Redis."""

    def __init__(self, var_dir: Path, port: int) -> None:
        env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL"}}
        env.update(DEBUG="1", HYBRIDCLOUD_VAR_DIR=str(var_dir), PORT=str(port), HOST="127.0.0.1")
        self.env = env
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "run"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1,
        )  # fmt: skip
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float, since: int = 0) -> re.Match:
        """The first line from line number `since` on that matches `pattern`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines[since:]:
                match = re.search(pattern, line)
                if match:
                    return match
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} not printed within {timeout} s:\n" + "\n".join(self.lines))


def sign_in(
    base_url: str, username: str, password: str
) -> tuple[urllib.request.OpenerDirector, http.cookiejar.CookieJar]:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login_page = opener.open(base_url + "login/").read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page).group(1)
    body = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": token}).encode()
    request = urllib.request.Request(base_url + "login/", data=body, headers={"Referer": base_url + "login/"})
    opener.open(request).read()
    return opener, jar


def test_run_starts_the_stack_serves_and_stops_every_process(tmp_path):
    port = free_port()
    stack = StackProcess(tmp_path, port)
    started = time.monotonic()
    try:
        url = stack.wait_for(r"HybridCloud is running at (http://\S+)", timeout=90).group(1)
        assert time.monotonic() - started < 90
        credentials = stack.wait_for(r"username: (\S+)\s+password: (\S+)", timeout=5)
        username, password = credentials.group(1), credentials.group(2)

        manager = psutil.Process(stack.process.pid)
        children = manager.children(recursive=True)
        names = " ".join(" ".join(child.cmdline()) for child in children)
        for expected in ("redis-server", "daphne", "worker", "beat"):
            assert expected in names, names

        # The login page, then the overview once signed in with the printed account.
        assert b"Sign in" in urllib.request.urlopen(url + "login/").read()
        opener, jar = sign_in(url, username, password)
        overview = opener.open(url).read().decode()
        assert "Overview" in overview and username in overview

        # An authenticated websocket through the same server: snapshot first.
        cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
        with connect(
            f"ws://127.0.0.1:{port}/ws/activity/",
            additional_headers={"Cookie": cookie, "Origin": f"http://127.0.0.1:{port}"},
            open_timeout=10,
        ) as websocket:
            first = json.loads(websocket.recv(timeout=10))
            assert first["type"] == "snapshot" and "seq" in first

        # A second run beside the first says so instead of failing obscurely.
        second = subprocess.run(
            [sys.executable, "manage.py", "run"], cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=120
        )
        assert second.returncode != 0
        assert "already running" in second.stderr

        # Ctrl-C stops everything it started.
        stack.process.send_signal(signal.SIGINT)
        assert stack.process.wait(timeout=60) == 0 or stack.process.returncode is not None
        deadline = time.monotonic() + 10
        survivors = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
        while survivors and time.monotonic() < deadline:
            time.sleep(0.2)
            survivors = [c for c in survivors if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
        assert not survivors, [" ".join(s.cmdline()) for s in survivors]
        assert not (tmp_path / "run" / "stack.json").exists()
    finally:
        if stack.process.poll() is None:
            stack.process.kill()
        for child in psutil.Process().children(recursive=True):
            if "manage.py run" in " ".join(child.cmdline()):
                child.kill()


def test_restart_delay_doubles_from_one_second_up_to_thirty():
    from hybridcloud.management.commands.run import restart_delay

    assert [restart_delay(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 30, 30, 30]


def worker_process(manager: psutil.Process) -> psutil.Process:
    """The Celery worker's main process: the manager's direct child running `celery ... worker`."""
    for child in manager.children():
        cmdline = child.cmdline()
        if "celery" in " ".join(cmdline) and "worker" in cmdline:
            return child
    raise AssertionError("no worker child: " + " | ".join(" ".join(c.cmdline()) for c in manager.children()))


def wait_for_ready(log: Path, times: int, timeout: float = 60.0) -> None:
    """Until the worker log says `ready.` `times` times (once per worker start)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and log.read_text(errors="replace").count(" ready.") >= times:
            return
        time.sleep(0.2)
    raise AssertionError(f"the worker did not get ready {times} times:\n" + log.read_text(errors="replace")[-2000:])


def test_a_killed_worker_is_restarted_with_backoff_and_ctrl_c_still_stops_everything(tmp_path):
    port = free_port()
    stack = StackProcess(tmp_path, port)
    try:
        url = stack.wait_for(r"HybridCloud is running at (http://\S+)", timeout=90).group(1)
        manager = psutil.Process(stack.process.pid)
        seen = {p.pid: p for p in manager.children(recursive=True)}

        log = tmp_path / "log" / "worker.log"
        wait_for_ready(log, times=1)
        first = worker_process(manager)
        pool = first.children()
        assert pool, "the prefork worker has pool processes"
        since = len(stack.lines)
        first.kill()
        line = stack.wait_for(
            r"^worker \(pid (\d+)\) exited with code -9 \(SIGKILL\) .*restarting it in 1 s", 15, since
        )
        assert int(line.group(1)) == first.pid
        restarted = stack.wait_for(r"^Started worker \(pid (\d+)\)", timeout=10, since=since)
        second = psutil.Process(int(restarted.group(1)))
        assert second.ppid() == manager.pid and second.is_running()
        # The killed worker's pool processes went with it; the rest of the stack never stopped.
        psutil.wait_procs(pool, timeout=5)
        assert not [p for p in pool if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert urllib.request.urlopen(url + "health/").status == 200
        assert stack.process.poll() is None
        # The new worker comes up (it logs "ready" a second time) ...
        wait_for_ready(log, times=2)
        # ... and a second crash soon after waits twice as long.
        seen.update({p.pid: p for p in manager.children(recursive=True)})
        since = len(stack.lines)
        worker_process(manager).kill()
        stack.wait_for(rf"^worker \(pid {second.pid}\) exited with code -9 .*restarting it in 2 s", 15, since)
        third = stack.wait_for(r"^Started worker \(pid (\d+)\)", timeout=10, since=since)
        assert psutil.pid_exists(int(third.group(1)))
        time.sleep(1.0)
        seen.update({p.pid: p for p in manager.children(recursive=True)})

        # Ctrl-C stops everything it ever started, restarted ones included.
        stack.process.send_signal(signal.SIGINT)
        stack.process.wait(timeout=60)
        stack.wait_for(r"Stopped every process", timeout=5)
        _, alive = psutil.wait_procs(list(seen.values()), timeout=10)
        survivors = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        assert not survivors, [" ".join(s.cmdline()) for s in survivors]
    finally:
        if stack.process.poll() is None:
            stack.process.kill()
        for child in psutil.Process().children(recursive=True):
            if "manage.py run" in " ".join(child.cmdline()):
                child.kill()
