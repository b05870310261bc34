"""Shared by the reliability tests: waiting, finding the process that holds a piece of work, final checks."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from hybridcloud.core.models import AuditEntry
from inventory.models import Workload
from migration.choices import FINAL_STATES, EventKind
from migration.dr.choices import DrillState
from migration.dr.models import DrillRun
from migration.models import Migration

TERMINAL_EVENTS = (EventKind.COMPLETED, EventKind.FAILED, EventKind.CANCELLED)
DRILL_FINAL = (DrillState.COMPLETED, DrillState.FAILED, DrillState.CANCELLED)


def drop_queued_work() -> None:
    """Empty the Celery queue and forget the link chains it carried (a chain's Redis token outlives its purged
    message by up to 15 s, and would keep the next test's migration on that link from being kicked)."""
    from hybridcloud.celery import app
    from hybridcloud.core.events import redis_client

    app.control.purge()
    keys = redis_client().keys("hybridcloud:migration:chain:*")
    if keys:
        redis_client().delete(*keys)


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1, what: str = "the condition", describe=None):
    """Poll `predicate` until it returns something true; on time-out, say what was awaited and (`describe`) what
    the state was instead."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    state = f"; instead: {describe()}" if describe else ""
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{state}")


def holder_pid(holder: str | None) -> int | None:
    """The pid of a `host:pid` holder on this machine (None for none, or another machine)."""
    if not holder:
        return None
    host, _, pid = holder.rpartition(":")
    return int(pid) if host == socket.gethostname() and pid.isdigit() else None


def parent_pid(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("PPid:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def in_worker(pid: int | None, worker) -> bool:
    """Whether `pid` is the worker's main process or one of its pool processes."""
    return pid is not None and worker.alive() and (pid == worker.pid or parent_pid(pid) == worker.pid)


def alive(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie is dead: it only waits to be reaped)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def assert_migration_ended_once(migration_id: int) -> Migration:
    """One terminal state, one terminal event, the workload on exactly the host that state implies."""
    m = Migration.objects.select_related("workload").get(pk=migration_id)
    assert m.state in FINAL_STATES, f"migration #{m.pk} still {m.state}"
    terminal = list(m.events.filter(kind__in=TERMINAL_EVENTS).values_list("kind", flat=True))
    assert terminal == [m.state], f"migration #{m.pk} ended {m.state} with terminal events {terminal}"
    w = Workload.objects.get(pk=m.workload_id)
    expected = m.destination_host_id if m.state == "completed" else m.source_host_id
    assert w.host_id == expected, f"{w.name} on host {w.host_id}, expected {expected} after {m.state}"
    assert Workload.objects.filter(name=w.name).count() == 1
    if m.state == "completed":
        assert m.rounds.count() == m.rounds_count
    return m


def drill_end_entries(run_id: int) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action="drill.end", object_id=str(run_id)))


def assert_drill_ended_once(run_id: int) -> DrillRun:
    """One terminal state and exactly one terminal audit entry, saying that state."""
    run = DrillRun.objects.get(pk=run_id)
    assert run.state in DRILL_FINAL, f"drill #{run.pk} still {run.state}"
    ends = drill_end_entries(run_id)
    assert [e.after["state"] for e in ends] == [run.state], f"drill #{run.pk}: terminal entries {ends}"
    assert not run.steps.filter(state__in=["pending", "running"]).exists()
    return run
