"""A small network lab for the partition test: "machines" as network namespaces, each joined to the root namespace
by a veth pair on a /30 of its own, and TCP relays in the root namespace that carry each machine's traffic to the
session's Redis and database (which listen on 127.0.0.1 only).

A relay can also watch what a machine sends through it (`watch`, a test on each chunk that sets the machine's
`tripped` event): the test uses it to cut a machine at the very moment it takes a link's step lock in Redis (the
step's lease) or sends a step's UPDATE to the database. Everything made here is removed by `NetLab.close()`, also
after a failure.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
from dataclasses import dataclass, field

LOCK_PREFIX = b"hybridcloud:migration:lock:"


def takes_step_lock(chunk: bytes) -> bool:
    """A Redis `SET hybridcloud:migration:lock:<link> <token> NX PX ...` (redis-py's Lock.acquire)."""
    return LOCK_PREFIX in chunk and b"\r\nNX\r\n" in chunk.upper()


def writes_step(chunk: bytes) -> bool:
    """A PostgreSQL query updating a migration row (the driver's conditional step write)."""
    return b'UPDATE "migration_migration"' in chunk


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=10)


class Relay:
    """Accepts on (listen_host, listen_port) and pipes each connection to (target_host, target_port)."""

    def __init__(self, machine: Machine, listen_host: str, target: tuple[str, int], watch=None):
        self.machine, self.target, self.watch = machine, target, watch
        self.server = socket.create_server((listen_host, 0))
        self.port = self.server.getsockname()[1]
        self.sockets: list[socket.socket] = [self.server]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True, name=f"relay-{machine.name}").start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            self.sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, outbound: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
                if outbound and self.watch is not None and self.machine.trigger.armed and self.watch(data):
                    self.machine.trigger.fire(self.machine)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.closed = True
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.close()


class Trigger:
    """Armed, it cuts the link of the first machine whose watched relay sees its pattern (one machine only)."""

    def __init__(self) -> None:
        self.armed = False
        self.machine: Machine | None = None
        self.fired = threading.Event()
        self._lock = threading.Lock()

    def fire(self, machine: Machine) -> None:
        with self._lock:
            if not self.armed:
                return
            self.armed = False
            machine.cut()  # at once: the reply to what it just sent never reaches it
            self.machine = machine
            self.fired.set()


@dataclass
class Machine:
    """One namespace: `host_ip` is the root side of its veth (where its relays listen), `ip` its own address."""

    name: str
    host_if: str
    ns_if: str
    host_ip: str
    ip: str
    trigger: Trigger
    relays: list[Relay] = field(default_factory=list)

    def relay(self, target: tuple[str, int], watch=None) -> Relay:
        relay = Relay(self, self.host_ip, target, watch)
        self.relays.append(relay)
        return relay

    def cut(self) -> None:
        ip("link", "set", self.host_if, "down")

    def mend(self) -> None:
        ip("link", "set", self.host_if, "up")

    def command(self, args: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *args]


class NetLab:
    """Namespaces `hc<pid>a`, `hc<pid>b` ...: each with a veth pair on 10.<x>.<y>.<4n>/30."""

    def __init__(self) -> None:
        self.machines: list[Machine] = []
        self.trigger = Trigger()
        self.tag = f"hc{os.getpid() % 100000}"
        # A /30 per machine inside 10.x.y.0/24, x and y from the pid (distinct between concurrent runs).
        self.net = f"10.{200 + os.getpid() % 50}.{os.getpid() // 50 % 250}"

    def machine(self) -> Machine:
        n = len(self.machines)
        letter = "abcdefgh"[n]
        name = f"{self.tag}{letter}"
        m = Machine(
            name=name,
            host_if=f"{name}h",
            ns_if=f"{name}n",
            host_ip=f"{self.net}.{4 * n + 1}",
            ip=f"{self.net}.{4 * n + 2}",
            trigger=self.trigger,
        )
        self.machines.append(m)
        ip("netns", "add", name)
        ip("link", "add", m.host_if, "type", "veth", "peer", "name", m.ns_if)
        ip("link", "set", m.ns_if, "netns", name)
        ip("addr", "add", f"{m.host_ip}/30", "dev", m.host_if)
        ip("link", "set", m.host_if, "up")
        ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        ip("netns", "exec", name, "ip", "addr", "add", f"{m.ip}/30", "dev", m.ns_if)
        ip("netns", "exec", name, "ip", "link", "set", m.ns_if, "up")
        return m

    def close(self) -> list[str]:
        """Remove every namespace and link made here; returns what could not be removed."""
        left = []
        for m in self.machines:
            for relay in m.relays:
                relay.close()
            ip("link", "del", m.host_if, check=False)  # its peer goes with it
            if ip("netns", "del", m.name, check=False).returncode != 0:
                left.append(m.name)
        names = ip("netns", "list", check=False).stdout
        left += [m.name for m in self.machines if m.name in names.split()]
        return left
