"""Benchmark: a fresh clone to a dashboard that answers, through `make run` (target under 60 s).

Standalone: `python bench/fresh_start.py [--cold] [--source PATH] [--keep]`. Clones the repository's committed HEAD
(`git clone`, so uncommitted edits are not measured) into a temporary folder, runs `make run` there on a free port
with its own venv, database and Redis, and times it until `GET /login/` answers 200. Prints the install phase (until
`.venv/.installed` exists) and the rest (migrate, seed the demo, start Redis, web, worker and beat), then PASS/FAIL
against the target; exits 1 on a miss. `--cold` gives pip and uv empty cache folders (every package downloaded
again); without it the user's caches are used as they are (warm once any install ran on this machine). It needs
PyPI (or the configured index). Everything it started is stopped (Ctrl-C to `make run`'s process group) at the end.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 60.0
TIMEOUT_S = 900.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (a local URL we built)
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def stop(process: subprocess.Popen) -> None:
    """Ctrl-C to the process group we started (make, manage.py run and its children), then harder if need be."""
    for sig, wait_s in ((signal.SIGINT, 30), (signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        if process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            continue


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default=str(ROOT), help="The repository to clone (default: this one).")
    parser.add_argument("--cold", action="store_true", help="Empty pip and uv caches: every package is downloaded.")
    parser.add_argument("--keep", action="store_true", help="Keep the clone (its path is printed).")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp(prefix="hc-fresh-")
    clone = Path(tmp) / "fresh"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "HYBRIDCLOUD_VAR_DIR", "VIRTUAL_ENV")
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    port = free_port()
    env["PORT"] = str(port)
    if args.cold:
        env["PIP_CACHE_DIR"] = str(Path(tmp) / "pip-cache")
        env["UV_CACHE_DIR"] = str(Path(tmp) / "uv-cache")
    caches = "cold (empty pip and uv caches)" if args.cold else "warm (the user's pip and uv caches as they are)"

    started = time.monotonic()
    subprocess.run(["git", "clone", "--quiet", args.source, str(clone)], check=True)
    cloned_s = time.monotonic() - started
    log_path = Path(tmp) / "make-run.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            ["make", "run"], cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    installed_s = ready_s = None
    url = f"http://127.0.0.1:{port}/login/"
    timeline: list[tuple[float, str]] = []  # when each line of make run's output first appeared
    seen = 0
    try:
        while time.monotonic() - started < TIMEOUT_S and process.poll() is None:
            lines = log_path.read_text(errors="replace").splitlines()
            timeline += [(time.monotonic() - started, line) for line in lines[seen:] if line.strip()]
            seen = len(lines)
            if installed_s is None and (clone / ".venv" / ".installed").exists():
                installed_s = time.monotonic() - started
            if answers(url):
                ready_s = time.monotonic() - started
                break
            time.sleep(0.25)
    finally:
        stop(process)
    print(f"Fresh clone of {args.source} to a dashboard answering {url}; caches {caches}.")
    print(f"  git clone              {cloned_s:6.1f} s")
    if installed_s is not None:
        print(f"  venv and install done  {installed_s:6.1f} s")
    if ready_s is None:
        print(f"FAIL: never answered (make run exited {process.returncode}); log: {log_path}")
        print(log_path.read_text()[-3000:])
        return 1
    print(f"  ready                  {ready_s:6.1f} s (after the install: {ready_s - (installed_s or 0):.1f} s)")
    print("  make run's output, first seen at:")
    for at, line in timeline:
        print(f"    {at:6.1f} s  {line[:100]}")
    ok = ready_s < TARGET_S
    print(f"{'PASS' if ok else 'FAIL'}: fresh start {ready_s:.1f} s (target < {TARGET_S:.0f} s)")
    if args.keep:
        print(f"Kept {clone}")
    else:
        subprocess.run(["rm", "-rf", tmp], check=False)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
