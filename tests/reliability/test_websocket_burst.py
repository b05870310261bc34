"""A burst of progress to 50 websocket clients of one migration: real Daphne, the real Redis channel layer and the
`websockets` client library. Each client does what the live page does (start from the snapshot, apply pushes in
`seq` order, ask for a snapshot on a gap); after the burst and a last resync, every client holds the migration's
final state and seq, never saw seq go backwards, and knows every state in order (from a push, or from the phase
timeline of a snapshot when it resynced after that state had passed). One push in `LOSE_EVERY` is lost
on the way (the first state change among them), as pushes are when Redis or a socket hiccups: the gap that follows
makes every client resync, and none misses a state."""

from __future__ import annotations

import asyncio
import json
import threading
import time

import pytest
from django.conf import settings
from django.db.models import F
from django.test import Client
from django.utils import timezone

from hybridcloud.core import events
from migration import progress
from migration.choices import FINAL_STATES
from migration.models import Migration
from migration.services import migration_cancel, migration_start
from tests import factories
from tests.conftest import make_user
from tests.reliability.helpers import drop_queued_work

pytestmark = pytest.mark.integration

CLIENTS = 50
PUSHES = 300
LOSE_EVERY = 7


async def _client(url: str, headers: dict, origin: str, connected: threading.Semaphore, final: dict) -> dict:
    from websockets.asyncio.client import connect

    view = {"seq": -1, "state": None, "states": [], "gaps": 0, "backwards": 0, "pushes": 0}

    def adopt(message: dict) -> None:
        if message["seq"] < view["seq"]:
            view["backwards"] += 1
            return
        view["seq"] = message["seq"]
        if message["type"] == "snapshot":
            # A snapshot carries the phase timeline: phases passed while this client heard nothing are not missed.
            for phase, key in (("precopy", "precopy_started_at"), ("switchover", "switchover_started_at")):
                if message["timings"].get(key) and phase not in view["states"]:
                    view["states"].append(phase)
        if message["state"] != view["state"]:
            view["state"] = message["state"]
            if message["state"] not in view["states"]:
                view["states"].append(message["state"])

    async with connect(url, origin=origin, additional_headers=headers, open_timeout=30, max_queue=None) as ws:
        first = json.loads(await ws.recv())
        assert first["type"] == "snapshot"
        adopt(first)
        connected.release()
        deadline = time.monotonic() + 60
        resynced_at_end = False
        while time.monotonic() < deadline:
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), timeout=0.5))
            except TimeoutError:
                if "seq" in final and not resynced_at_end:
                    await ws.send(json.dumps({"action": "resync"}))  # the burst is over: one last snapshot
                    resynced_at_end = True
                continue
            if message["type"] == "snapshot":
                adopt(message)
            elif message["seq"] <= view["seq"]:
                continue  # already in the snapshot it arrived after (the page drops these too)
            elif message["seq"] != view["seq"] + 1:
                view["gaps"] += 1
                await ws.send(json.dumps({"action": "resync"}))
            else:
                view["pushes"] += 1
                adopt(message)
            if resynced_at_end and view["seq"] == final.get("seq") and view["state"] in FINAL_STATES:
                break
    return view


def test_a_lossy_burst_to_fifty_clients_leaves_every_client_with_every_state_in_order(live_server_url, monkeypatch):
    topo = factories.topology()
    vm = factories.workload(topo.ca_hosts[0], segment=topo.stretched)
    migration = migration_start(workload=vm, destination_host=topo.ca_hosts[1])
    initial = migration.state
    drop_queued_work()  # no worker here: this test plays the driver's part itself
    viewer = make_user("burst-viewer", group="viewers")
    web = Client()
    web.force_login(viewer)
    cookie = f"{settings.SESSION_COOKIE_NAME}={web.cookies[settings.SESSION_COOKIE_NAME].value}"
    ws_url = live_server_url.replace("http://", "ws://") + f"/ws/migrations/{migration.pk}/"

    connected = threading.Semaphore(0)
    final: dict = {}
    views: list = []

    def clients() -> None:
        async def all_clients():
            return await asyncio.gather(
                *(_client(ws_url, {"Cookie": cookie}, live_server_url, connected, final) for _ in range(CLIENTS)),
                return_exceptions=True,
            )

        views.extend(asyncio.run(all_clients()))

    thread = threading.Thread(target=clients)
    thread.start()
    for _ in range(CLIENTS):
        assert connected.acquire(timeout=60), "not every client connected"

    # The burst: a phase change, PUSHES progress pushes as fast as they can go (the publisher's 10-a-second
    # throttle is for people; lifted here to make a burst), a switchover-less end by cancel. Each change is in the
    # database before it is published, as the driver does.
    monkeypatch.setattr(progress, "MIN_INTERVAL_S", 0.0)
    flushes = {"n": 0, "lost": 0}
    flush = events._flush

    def lossy_flush(sends):
        flushes["n"] += 1
        if flushes["n"] % LOSE_EVERY == 1 and flushes["n"] < PUSHES:  # the first (precopy) push, then every 7th
            flushes["lost"] += 1
            return
        flush(sends)

    monkeypatch.setattr(events, "_flush", lossy_flush)  # the one publisher: every push goes through it
    assert Migration.objects.transition(
        migration.pk, ("prechecks", "queued"), "precopy", precopy_started_at=timezone.now()
    )
    progress.publish_progress(Migration.objects.get(pk=migration.pk), "phase")
    started = time.monotonic()
    for i in range(PUSHES):
        Migration.objects.filter(pk=migration.pk).update(seq=F("seq") + 1, bytes_sent=(i + 1) * 2**20)
        progress.publish_progress(Migration.objects.get(pk=migration.pk), "round")
    burst_s = time.monotonic() - started
    migration_cancel(migration=Migration.objects.get(pk=migration.pk))
    final.update(seq=Migration.objects.get(pk=migration.pk).seq)
    thread.join(90)
    assert not thread.is_alive(), "clients still waiting after 90 s"

    errors = [v for v in views if isinstance(v, BaseException)]
    assert not errors, errors[:3]
    assert len(views) == CLIENTS
    for view in views:
        assert view["seq"] == final["seq"] and view["state"] == "cancelled", view
        assert view["backwards"] == 0, view
        assert view["states"] == [initial, "precopy", "cancelled"], view  # every state, in order, none missed
    delivered = sum(v["pushes"] for v in views)
    gaps = sum(v["gaps"] for v in views)
    assert flushes["lost"] > 0 and all(v["gaps"] > 0 for v in views)  # every client had to repair a gap
    print(
        f"{CLIENTS} clients, {PUSHES + 2} pushes in {burst_s:.2f} s, {flushes['lost']} lost on the way: "
        f"{delivered} delivered in order, {gaps} gaps repaired by resync"
    )
