"""New alarms reach the activity panel over the real channel layer, after commit, through the one publisher
(migration.progress); the activity snapshot lists active alarms, so a page load or a resync keeps them."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from hybridcloud.asgi import application
from migration.alarms import services
from tests import factories
from tests.migration.alarms import builders

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@database_sync_to_async
def raise_alarm() -> int:
    topo = factories.topology()
    topo.ca_link_va.loss_percent = 3.0
    topo.ca_link_va.save()
    rule = builders.rule("link_loss", threshold=1, severity="critical")
    builders.only_rules(rule)
    [alarm_id] = services.alarms_evaluate().raised
    return alarm_id


async def test_a_new_alarm_is_pushed_to_the_activity_panel_and_listed_in_its_snapshot(ws_headers, viewer, operator):
    headers = await database_sync_to_async(ws_headers)(viewer)
    communicator = WebsocketCommunicator(application, "/ws/activity/", headers=headers)
    assert (await communicator.connect(timeout=10))[0]
    snapshot = await communicator.receive_json_from(timeout=5)
    assert not [i for i in snapshot["active"] if i["key"].startswith("alarm-")]

    alarm_id = await raise_alarm()
    pushed = await communicator.receive_json_from(timeout=5)
    assert pushed["type"] == "alarm" and pushed["seq"] > snapshot["seq"] and pushed["state"] == "active"
    item = pushed["item"]
    assert item["key"] == f"alarm-{alarm_id}" and item["active"] is True and item["url"] == f"/alarms/{alarm_id}/"
    assert item["title"].startswith("Critical alarm: Link California DC ↔ Virginia DC: packet loss 3 %")

    # Evaluating again raises nothing and pushes nothing.
    await database_sync_to_async(services.alarms_evaluate)()
    assert await communicator.receive_nothing(timeout=0.5)

    await communicator.send_json_to({"action": "resync"})
    resync = await communicator.receive_json_from(timeout=5)
    assert resync["type"] == "snapshot" and any(i["key"] == f"alarm-{alarm_id}" for i in resync["active"])

    await database_sync_to_async(services.alarm_acknowledge)(alarm_id=alarm_id, user=operator)
    gone = await communicator.receive_json_from(timeout=5)
    assert gone["type"] == "alarm" and gone["item"]["active"] is False and gone["state"] == "acknowledged"
    await communicator.disconnect()
