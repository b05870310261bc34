"""Processes, QMP and serial consoles of the QEMU calibration harness (bench/qemu/harness.py).

Every child runs in its own process group and :meth:`Processes.close` kills every group (also on Ctrl-C or
SIGTERM, through :func:`terminate_on_sigterm`): a run leaves no process behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_RATE_LINE = re.compile(r"DIRTIER t=([\d.]+) pages=(\d+) rate_bps=(\d+)")


class Processes:
    """Children started in their own process groups; :meth:`close` kills every group."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []

    def start(self, cmd: list[str], log: Path, stdout_pipe: bool = False) -> subprocess.Popen:
        logf = open(log, "wb")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout_pipe else logf,
            stderr=logf,
            start_new_session=True,
        )
        proc._hc_log = logf  # type: ignore[attr-defined]
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 3.0
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            proc._hc_log.close()  # type: ignore[attr-defined]
            if proc.stdout:
                proc.stdout.close()
        self.procs.clear()


@contextlib.contextmanager
def terminate_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into SystemExit and SIGINT into KeyboardInterrupt, so that ``finally`` blocks run."""

    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    old = signal.signal(signal.SIGTERM, handler)
    # A background job of a non-interactive shell starts with SIGINT ignored: take it back.
    old_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
        signal.signal(signal.SIGINT, old_int)


class QMP:
    """A minimal QMP client over a unix socket (one command at a time; events are kept)."""

    def __init__(self, path: Path, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(str(path))
                break
            except (FileNotFoundError, ConnectionRefusedError):
                self.sock.close()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"QMP socket {path} never came up") from None
                time.sleep(0.05)
        self.sock.settimeout(timeout_s)
        self.buf = b""
        self.events: list[dict[str, Any]] = []
        self._read()  # greeting
        self.execute("qmp_capabilities")

    def _read(self) -> dict[str, Any]:
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("QMP connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, command: str, **arguments: Any) -> Any:
        msg: dict[str, Any] = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            reply = self._read()
            if "event" in reply:
                self.events.append(reply)
                continue
            if "error" in reply:
                raise RuntimeError(f"QMP {command} failed: {reply['error']}")
            return reply.get("return")

    def close(self) -> None:
        self.sock.close()


class SerialLog:
    """Reads a guest's serial console file incrementally, stamping each line with host time."""

    def __init__(self, path: Path, t0: float) -> None:
        self.path = path
        self.t0 = t0
        self.offset = 0
        self.partial = ""
        self.lines: list[tuple[float, str]] = []

    def poll(self) -> list[tuple[float, str]]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        self.offset += len(data)
        text = self.partial + data.decode(errors="replace")
        *complete, self.partial = text.split("\n")
        now = time.monotonic() - self.t0
        new = [(round(now, 3), line.strip()) for line in complete if line.strip()]
        self.lines.extend(new)
        return new

    def rates(self) -> list[tuple[float, float, float]]:
        """(host s, guest s, achieved bytes/s) of every DIRTIER rate line so far."""
        out = []
        for t, line in self.lines:
            m = _RATE_LINE.search(line)
            if m:
                out.append((t, float(m.group(1)), float(m.group(3))))
        return out
