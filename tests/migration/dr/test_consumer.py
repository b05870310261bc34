"""/ws/drills/<id>/: signed-in users get a snapshot first, then every step push with a growing seq."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from hybridcloud.asgi import application
from migration.dr import runner, services
from tests.migration.dr.builders import demo_plan


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_drill_socket_sends_snapshot_then_each_step(in_memory_channel_layer, viewer, ws_headers):
    setup = await sync_to_async(demo_plan)()
    run = await sync_to_async(services.drill_start)(plan=setup.plan, enqueue=False)
    headers = await sync_to_async(ws_headers)(viewer)
    communicator = WebsocketCommunicator(application, f"/ws/drills/{run.pk}/", headers=headers)
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["type"] == "snapshot" and snapshot["state"] == "queued" and snapshot["steps"] == []

    await sync_to_async(runner.drill_execute)(run_id=run.pk, pace=False)
    messages = []
    while True:
        message = await communicator.receive_json_from(timeout=5)
        messages.append(message)
        if message["state"] in ("completed", "failed"):
            break
    seqs = [m["seq"] for m in messages]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) and seqs[0] > snapshot["seq"]
    assert all(m["type"] == "drill" for m in messages)
    # Each step was seen running, then done, in order.
    seen = [(s["name"], s["state"]) for m in messages for s in m["steps"] if s["state"] in ("running", "done")]
    assert ("Bring up group 2: app tier", "running") in seen
    final = messages[-1]
    assert final["state"] == "completed" and final["drill"]["measured_rto_s"] > 0
    assert all(s["state"] == "done" for s in final["steps"]) and len(final["results"]) == 7

    await communicator.send_json_to({"action": "resync"})
    again = await communicator.receive_json_from(timeout=5)
    assert again["type"] == "snapshot" and again["seq"] == final["seq"]
    await communicator.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_drill_socket_refuses_anonymous_and_unknown_drills(in_memory_channel_layer, viewer, ws_headers):
    anonymous = WebsocketCommunicator(application, "/ws/drills/1/", headers=[(b"origin", b"http://localhost")])
    connected, code = await anonymous.connect(timeout=10)
    assert not connected and code == 4401
    headers = await sync_to_async(ws_headers)(viewer)
    missing = WebsocketCommunicator(application, "/ws/drills/424242/", headers=headers)
    connected, code = await missing.connect(timeout=10)
    assert not connected and code == 4404
