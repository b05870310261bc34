"""Helpers of the infrastructure-fault tests: a live page over a real websocket, the invariants every fault must
keep, the watchdog's schedule, and the session's own Redis (restartable on its port).

Every test here is `integration` and `chaos`: it starts real processes (Celery workers with beat, Daphne) against
the test database and the session's Redis, breaks something underneath them, and checks that nothing was lost.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from inventory.models import Workload
from migration.choices import FINAL_STATES
from migration.models import Migration

pytestmark = [pytest.mark.integration, pytest.mark.chaos]

TERMINAL_EVENT_KINDS = ("completed", "failed", "cancelled")


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{what} did not happen within {timeout:.0f} s")


def all_finished(ids: list[int]) -> bool:
    return Migration.objects.filter(pk__in=ids, state__in=FINAL_STATES).count() == len(ids)


def assert_nothing_lost(ids: list[int]) -> list[Migration]:
    """What every fault must leave behind, for each migration: a terminal state with exactly one terminal event
    that agrees with it; the workload on exactly one host, the destination iff completed; every round the row
    counts stored, once, in order; and the row never ahead of its rounds or behind its events."""
    migrations = list(Migration.objects.filter(pk__in=ids).select_related("workload").order_by("pk"))
    assert len(migrations) == len(ids)
    for m in migrations:
        label = f"migration {m.pk} ({m.state}: {m.outcome_reason})"
        assert m.state in FINAL_STATES, label
        terminal = list(m.events.filter(kind__in=TERMINAL_EVENT_KINDS).values_list("kind", flat=True))
        assert terminal == [m.state], f"{label}: terminal events {terminal}"
        workload = Workload.objects.get(pk=m.workload_id)
        expected_host = m.destination_host_id if m.state == "completed" else m.source_host_id
        assert workload.host_id == expected_host, f"{label}: workload on host {workload.host_id}"
        assert Workload.objects.filter(name=workload.name).count() == 1
        indexes = list(m.rounds.order_by("index").values_list("index", flat=True))
        assert indexes == list(range(m.rounds_count)), f"{label}: rounds {indexes} but rounds_count {m.rounds_count}"
        if m.state == "completed":
            assert m.rounds_count >= 1 and m.finished_at is not None and m.downtime_s is not None, label
    return migrations


def ensure_watchdog_schedule() -> None:
    """The product's own watchdog schedule (its data migration's rows; a transactional test flushed them)."""
    from django.apps import apps
    from django.utils.module_loading import import_string

    import_string("migration.migrations.0002_watchdog_schedule.create_schedule")(apps, None)


def session_cookie(client, user) -> str:
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


@dataclass
class LivePage:
    """What the live migration page does (static/js/app.js `HC.live`), over a real websocket in a thread: apply the
    snapshot, apply pushes in `seq` order, drop pushes already seen, ask for a snapshot on a gap, and reconnect
    with back-off when the socket closes (a new snapshot each time).

    `applied` is every (seq, state, kind) the page showed, in order; `connects` counts the sockets it opened. With
    `path="/ws/activity/"` it is the activity panel every page has.
    """

    base_url: str
    migration_id: int | None
    cookie: str
    path: str = ""  # default: the migration's live page, /ws/migrations/<id>/
    applied: list[tuple[int, str, str]] = field(default_factory=list)
    received_at: list[tuple[float, str]] = field(default_factory=list)
    received: list[tuple[float, str, int | None]] = field(default_factory=list)
    connects: int = 0
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"page-{self.migration_id}", daemon=True)

    def start(self) -> LivePage:
        self._thread.start()
        wait_for(lambda: self.applied, timeout=15, what=f"the first snapshot of migration {self.migration_id}")
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    @property
    def state(self) -> str | None:
        return self.applied[-1][1] if self.applied else None

    def _run(self) -> None:
        ws_url = self.base_url.replace("http://", "ws://") + (self.path or f"/ws/migrations/{self.migration_id}/")
        headers = {"Cookie": self.cookie, "Origin": self.base_url}
        backoff = 0.25
        while not self._stop.is_set() and self.state not in FINAL_STATES:
            try:
                with connect(ws_url, additional_headers=headers, open_timeout=5) as socket:
                    self.connects += 1
                    backoff = 0.25
                    self._read(socket)
            except (OSError, ConnectionClosed, TimeoutError) as exc:
                self.errors.append(repr(exc))
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 4.0)

    def _read(self, socket) -> None:
        expected: int | None = None
        while not self._stop.is_set() and self.state not in FINAL_STATES:
            try:
                message = json.loads(socket.recv(timeout=0.5))
            except TimeoutError:
                continue
            kind = message.get("type")
            self.received_at.append((time.monotonic(), kind))
            self.received.append((time.monotonic(), kind, message.get("seq")))
            if kind == "snapshot":
                self.applied.append((message["seq"], message["state"], kind))
                expected = message["seq"] + 1
                continue
            if expected is None or message["seq"] < expected:
                continue  # already in the snapshot
            if message["seq"] > expected:
                socket.send(json.dumps({"action": "resync"}))  # a gap: the snapshot that answers is the truth
                continue
            self.applied.append((message["seq"], message["state"], kind))
            expected = message["seq"] + 1


def assert_page_consistent(page: LivePage, final_state: str) -> None:
    """The page ends on the row's final state, never showed a seq going backwards, and never skipped one except by
    a snapshot (the truth) that bridged it."""
    seqs = [seq for seq, _, _ in page.applied]
    assert seqs == sorted(seqs), f"seq went backwards on the page of migration {page.migration_id}: {seqs}"
    skipped = [
        (before[0], after[0])
        for before, after in zip(page.applied, page.applied[1:], strict=False)
        if after[2] != "snapshot" and after[0] != before[0] + 1
    ]
    assert not skipped, f"the page of migration {page.migration_id} skipped pushes without a snapshot: {skipped}"
    assert page.state == final_state, (page.migration_id, page.applied[-5:], page.errors[-3:])


@pytest.fixture
def session_redis():
    """The test session's own Redis (tests/redis_plugin.py), which these tests stop and start on its port."""
    from tests import redis_plugin

    redis = getattr(redis_plugin, "_redis", None)
    if redis is None:
        pytest.skip("REDIS_URL points at an outside Redis that this test cannot restart; unset it to run this test")
    yield redis
    if not redis.ping():
        with contextlib.suppress(RuntimeError):
            redis.start()
    # This process's broker connections died with the old server; the control commands later tests send
    # (add_consumer, ping) take one from the pool and, unlike task publishing, do not retry on a dead one.
    from kombu import pools

    from hybridcloud.celery import app

    pools.reset()  # what kombu and Celery do after a fork: drop every pooled connection, pools made anew
    app._pool = None
    app.amqp._producer_pool = None


def require_root_and_netns() -> None:
    """Skip (fail under CI=1) when network namespaces cannot be made here."""
    import shutil
    import subprocess

    reason = None
    if os.geteuid() != 0:
        reason = "not root: network namespaces need root"
    elif not shutil.which("ip"):
        reason = "the `ip` command (iproute2) is not installed"
    else:
        probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
        if probe.returncode != 0:
            reason = f"`ip netns` is unavailable: {probe.stderr.strip()}"
    if reason:
        if os.environ.get("CI") == "1":
            pytest.fail(f"CI=1 but the network-partition test cannot run: {reason}")
        pytest.skip(reason)
