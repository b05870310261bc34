"""Websockets for migrations: refused when anonymous or foreign, a snapshot first, pushes in seq order."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from hybridcloud.asgi import application
from hybridcloud.core import events
from migration import driver, progress
from migration.models import Migration
from migration.services import migration_start
from tests import factories
from tests.conftest import ORIGIN

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def no_driver(monkeypatch):
    """These tests move the migrations themselves: keep any running worker's driver away from them."""
    monkeypatch.setattr("migration.chains.kick_link", lambda *args, **kwargs: False)


@database_sync_to_async
def make_migration():
    topo = factories.topology()
    vm = factories.workload(topo.ca_hosts[0])
    return migration_start(workload=vm, destination_host=topo.ca_hosts[1])


async def connect(path, headers):
    if path == "/ws/activity/":
        # The set-up's activity items (held for up to a second: hybridcloud.core.events) leave before it listens.
        await database_sync_to_async(events.flush_activity)()
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect(timeout=10)
    return communicator, connected, code


async def test_anonymous_is_refused():
    m = await make_migration()
    communicator, connected, code = await connect(f"/ws/migrations/{m.pk}/", [ORIGIN, (b"host", b"localhost")])
    assert not connected and code == 4401
    await communicator.disconnect()


async def test_foreign_origin_is_refused(ws_headers, viewer):
    m = await make_migration()
    headers = [h for h in await database_sync_to_async(ws_headers)(viewer) if h[0] != b"origin"]
    headers.append((b"origin", b"https://evil.example.com"))
    communicator, connected, _ = await connect(f"/ws/migrations/{m.pk}/", headers)
    assert not connected
    await communicator.disconnect()


async def test_unknown_migration_is_closed_with_404(ws_headers, viewer):
    communicator, connected, code = await connect(
        "/ws/migrations/999999/", await database_sync_to_async(ws_headers)(viewer)
    )
    assert not connected and code == 4404
    await communicator.disconnect()


async def test_snapshot_first_then_ordered_pushes_then_resync(ws_headers, viewer):
    m = await make_migration()
    communicator, connected, _ = await connect(
        f"/ws/migrations/{m.pk}/", await database_sync_to_async(ws_headers)(viewer)
    )
    assert connected
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["type"] == "snapshot" and snapshot["state"] == "prechecks" and snapshot["seq"] == m.seq
    assert "rounds" in snapshot and "timeline" in snapshot

    @database_sync_to_async
    def advance(to_state):
        assert Migration.objects.transition(m.pk, ("prechecks", "precopy", "switchover"), to_state)
        row = Migration.objects.select_related("workload", "destination_host").get(pk=m.pk)
        assert progress.publish_progress(row, "phase")

    for state in ("precopy", "switchover", "completed"):
        await advance(state)
    received = [await communicator.receive_json_from(timeout=5) for _ in range(3)]
    assert [r["state"] for r in received] == ["precopy", "switchover", "completed"]
    assert [r["seq"] for r in received] == [snapshot["seq"] + 1, snapshot["seq"] + 2, snapshot["seq"] + 3]
    await communicator.send_json_to({"action": "resync"})
    again = await communicator.receive_json_from(timeout=5)
    assert again["type"] == "snapshot" and again["state"] == "completed" and again["seq"] == snapshot["seq"] + 3
    await communicator.disconnect()


async def test_activity_snapshot_lists_active_migrations_and_pushes_items(ws_headers, viewer):
    m = await make_migration()
    communicator, connected, _ = await connect("/ws/activity/", await database_sync_to_async(ws_headers)(viewer))
    assert connected
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["type"] == "snapshot"
    item = next(i for i in snapshot["active"] if i["id"] == m.pk)
    assert item["key"] == f"migration-{m.pk}" and item["url"] == f"/migrations/{m.pk}/" and item["active"] is True
    assert {"title", "state", "percent"} <= set(item)

    @database_sync_to_async
    def finish():
        Migration.objects.transition(m.pk, "prechecks", "cancelled")
        progress.publish_progress(
            Migration.objects.select_related("workload", "destination_host").get(pk=m.pk), "cancelled"
        )

    await finish()
    pushed = await communicator.receive_json_from(timeout=5)
    assert pushed["type"] == "migration" and pushed["seq"] > snapshot["seq"]
    assert pushed["state"] == "cancelled" and pushed["item"]["active"] is False and pushed["item"]["id"] == m.pk
    await communicator.disconnect()


async def test_one_driver_step_reaches_the_activity_panel_as_one_message_with_every_migration(ws_headers, viewer):
    first = await make_migration()

    @database_sync_to_async
    def another():
        vm = factories.workload(first.source_host, name="second-vm")
        return migration_start(workload=vm, destination_host=first.destination_host)

    second = await another()
    communicator, connected, _ = await connect("/ws/activity/", await database_sync_to_async(ws_headers)(viewer))
    assert connected
    snapshot = await communicator.receive_json_from(timeout=5)

    @database_sync_to_async
    def step():
        with events.batch():
            for m in (first, second):
                Migration.objects.transition(m.pk, "prechecks", "precopy")
                row = Migration.objects.select_related("workload", "destination_host").get(pk=m.pk)
                assert progress.publish_progress(row, "phase")

    await step()
    pushed = await communicator.receive_json_from(timeout=5)
    assert pushed["type"] == "migration" and pushed["seq"] == snapshot["seq"] + 1
    assert {item["id"] for item in pushed["items"]} == {first.pk, second.pk}
    assert {item["state"] for item in pushed["items"]} == {"precopy"}
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_pushes_carry_their_publish_time(ws_headers, viewer):
    import time

    m = await make_migration()
    communicator, connected, _ = await connect(
        f"/ws/migrations/{m.pk}/", await database_sync_to_async(ws_headers)(viewer)
    )
    assert connected
    await communicator.receive_json_from(timeout=5)
    before = time.time()

    @database_sync_to_async
    def advance():
        Migration.objects.transition(m.pk, "prechecks", "precopy")
        progress.publish_progress(
            Migration.objects.select_related("workload", "destination_host").get(pk=m.pk), "phase"
        )

    await advance()
    pushed = await communicator.receive_json_from(timeout=5)
    assert before <= pushed["sent_at"] <= time.time()
    await communicator.disconnect()


async def test_a_driver_step_reaches_each_migration_page_of_its_link_from_one_push(ws_headers, viewer, monkeypatch):
    first = await make_migration()

    @database_sync_to_async
    def another():
        vm = factories.workload(first.source_host, name="second-vm")
        return migration_start(workload=vm, destination_host=first.destination_host)

    second = await another()
    assert second.link_key == first.link_key
    pages = []
    for m in (first, second):
        communicator, connected, _ = await connect(
            f"/ws/migrations/{m.pk}/", await database_sync_to_async(ws_headers)(viewer)
        )
        assert connected
        pages.append((m, communicator, await communicator.receive_json_from(timeout=5)))
    sent = []
    real = events.publish_keyed
    # The step's pushes: one event for the link, whatever the number of migrations on it.
    monkeypatch.setattr(events, "publish_keyed", lambda *args: sent.append(args) or real(*args))
    await database_sync_to_async(driver.step_link)(first.link_key)
    assert len(sent) == 1 and set(sent[0][2]) == {str(first.pk), str(second.pk)}
    for m, communicator, snapshot in pages:
        pushed = await communicator.receive_json_from(timeout=5)
        row = await database_sync_to_async(Migration.objects.get)(pk=m.pk)
        assert pushed["id"] == m.pk and pushed["state"] == "precopy" == row.state
        assert pushed["seq"] == snapshot["seq"] + 1 == row.seq
        await communicator.disconnect()
