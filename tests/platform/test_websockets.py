"""Websocket gatekeeping: origin check, authentication, snapshot first; over the real Redis channel layer."""

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from hybridcloud.asgi import application
from tests.conftest import ORIGIN

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def test_anonymous_websocket_is_closed():
    communicator = WebsocketCommunicator(application, "/ws/activity/", headers=[ORIGIN, (b"host", b"localhost")])
    connected, code = await communicator.connect(timeout=10)
    assert not connected
    assert code == 4401
    await communicator.disconnect()


async def test_websocket_without_origin_is_refused(ws_headers, viewer):
    headers = [h for h in await _headers(ws_headers, viewer) if h[0] != b"origin"]
    communicator = WebsocketCommunicator(application, "/ws/activity/", headers=headers)
    connected, _ = await communicator.connect(timeout=10)
    assert not connected
    await communicator.disconnect()


async def test_websocket_from_foreign_origin_is_refused(ws_headers, viewer):
    headers = [h for h in await _headers(ws_headers, viewer) if h[0] != b"origin"]
    headers.append((b"origin", b"https://evil.example.com"))
    communicator = WebsocketCommunicator(application, "/ws/activity/", headers=headers)
    connected, _ = await communicator.connect(timeout=10)
    assert not connected
    await communicator.disconnect()


async def test_signed_in_user_gets_snapshot_then_pushes_through_redis(ws_headers, viewer):
    communicator = WebsocketCommunicator(application, "/ws/activity/", headers=await _headers(ws_headers, viewer))
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    first = await communicator.receive_json_from(timeout=5)
    assert first["type"] == "snapshot"
    assert "seq" in first and "state" in first
    layer = get_channel_layer()
    assert type(layer).__module__.startswith("channels_redis")
    await layer.group_send(
        "activity", {"type": "activity.event", "message": {"type": "test", "seq": first["seq"] + 1, "state": "ok"}}
    )
    pushed = await communicator.receive_json_from(timeout=5)
    assert pushed == {"type": "test", "seq": first["seq"] + 1, "state": "ok"}
    await communicator.disconnect()


async def _headers(ws_headers, user):
    from channels.db import database_sync_to_async

    return await database_sync_to_async(ws_headers)(user)
