"""Container-VM changes are pushed on the activity channel, so the workloads page can refresh its table live."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from containers.services.create import container_create
from hybridcloud.asgi import application
from hybridcloud.core import events
from migration import progress

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def receive_workload_message(communicator, timeout: float = 5) -> dict:
    while True:
        message = await communicator.receive_json_from(timeout=timeout)
        if message["type"] == "workload":
            return message


async def test_creating_a_container_vm_pushes_a_workload_message_on_the_activity_channel(
    ws_headers, viewer, container_host, operator
):
    communicator = WebsocketCommunicator(
        application, "/ws/activity/", headers=await database_sync_to_async(ws_headers)(viewer)
    )
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["type"] == "snapshot"

    workload = await database_sync_to_async(container_create)(
        container_host=container_host, name="live-web", image_ref="nginx:1.27", user=operator
    )

    pushed = await receive_workload_message(communicator)
    assert pushed["workload"] == {"id": workload.pk, "name": "live-web", "kind": "container_vm"}
    assert pushed["state"] in {"create", "start"} and pushed["seq"] > snapshot["seq"]
    await communicator.disconnect()


async def test_a_failing_redis_is_logged_and_never_raises_into_the_caller(monkeypatch):
    def broken():
        raise ConnectionError("redis is down")

    monkeypatch.setattr(events, "redis_client", broken)
    # Pushes are hints: the container service that sent the signal must not see the failure.
    await database_sync_to_async(progress.publish_workload_change)(workload_id=123456, action="remove")
