"""A live page that hears nothing while its migration moves on (pushes lost while the channel layer reconnected to
a restarted Redis) is sent a fresh snapshot; a page whose migration did not move is left alone."""

import pytest
from channels.db import database_sync_to_async
from django.db.models import F

from migration.models import Migration
from tests.migration.test_consumers import connect, make_migration

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True), pytest.mark.chaos]


@pytest.fixture(autouse=True)
def quick(monkeypatch, in_memory_channel_layer):
    monkeypatch.setattr("migration.chains.kick_link", lambda *args, **kwargs: False)
    monkeypatch.setattr("migration.consumers.QUIET_RESYNC_S", 0.3)


async def test_a_quiet_page_gets_a_snapshot_when_its_migration_moved_on_without_a_push(ws_headers, viewer):
    m = await make_migration()
    communicator, connected, _ = await connect(
        f"/ws/migrations/{m.pk}/", await database_sync_to_async(ws_headers)(viewer)
    )
    assert connected
    first = await communicator.receive_json_from(timeout=5)
    assert first["type"] == "snapshot"
    # Nothing moved: nothing is sent.
    assert await communicator.receive_nothing(timeout=0.8)
    # The row moves on to its end and every push about it is lost.
    await database_sync_to_async(
        lambda: Migration.objects.filter(pk=m.pk).update(seq=F("seq") + 3, state="completed")
    )()
    resync = await communicator.receive_json_from(timeout=3)
    assert resync["type"] == "snapshot" and resync["seq"] == first["seq"] + 3 and resync["state"] == "completed"
    # Once the page shows the end, it is not polled again.
    await database_sync_to_async(lambda: Migration.objects.filter(pk=m.pk).update(seq=F("seq") + 1))()
    assert await communicator.receive_nothing(timeout=0.8)
    await communicator.disconnect()
