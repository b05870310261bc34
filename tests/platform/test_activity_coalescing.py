"""The activity group's fan-out (issue 19.6): the one publisher sends at most one activity message per type a
window (`events.ACTIVITY_WINDOW_S`), the latest state of each item winning, instead of one per publish; every
connected client receives every activity message. Over the real sender loop and the real Redis counter; the channel
layer is a recorder, so that what leaves the publisher is counted exactly."""

import json
import os
import time

import pytest
from celery.signals import worker_process_shutdown

import migration.tasks  # noqa: F401 - the worker's tasks, which connect the handler
from hybridcloud.core import events

pytestmark = pytest.mark.django_db(transaction=True)  # autocommit: each publish leaves as it is made


class RecordingLayer:
    def __init__(self):
        self.sent = []

    async def group_send(self, group, event):
        if group == events.ACTIVITY_GROUP:
            self.sent.append(json.loads(event["text"]))


@pytest.fixture
def layer(monkeypatch):
    events.flush_activity()  # nothing an earlier test left held reaches this one
    recorder = RecordingLayer()
    monkeypatch.setattr(events, "get_channel_layer", lambda: recorder)
    yield recorder
    events.flush_activity()


def migration_item(percent, *, key="migration-1", state="precopy"):
    return {"type": "migration", "item": {"key": key, "id": 1, "state": state, "percent": percent, "active": True}}


def wait_for(layer, count, timeout):
    deadline = time.monotonic() + timeout
    while len(layer.sent) < count and time.monotonic() < deadline:
        time.sleep(0.02)


def test_many_publishes_of_one_item_within_the_window_leave_as_one_message_with_the_latest(layer):
    events.publish_activity({**migration_item(0), "sent_at": time.time()})
    events.flush_activity()  # a window has just begun
    layer.sent.clear()
    for percent in range(1, 11):
        events.publish_activity({**migration_item(percent), "sent_at": time.time()})
    assert layer.sent == [], "held until the window ends"
    wait_for(layer, 1, timeout=events.ACTIVITY_WINDOW_S + 2)
    time.sleep(events.ACTIVITY_WINDOW_S + 0.3)  # and nothing more after it
    assert len(layer.sent) == 1
    (message,) = layer.sent
    assert message["type"] == "migration" and message["item"]["percent"] == 10 and message["state"] == "precopy"
    assert [item["percent"] for item in message["items"]] == [10]
    assert message["seq"] == events.activity_seq(), "the seq is stamped when it leaves: none is spent on held ones"
    assert time.time() - 2 < message["sent_at"] <= time.time()


def test_the_first_item_after_a_quiet_window_leaves_at_once_and_items_of_one_window_share_a_message(layer):
    time.sleep(events.ACTIVITY_WINDOW_S + 0.05)  # quiet
    events.publish_activity(migration_item(5))
    assert [m["item"]["percent"] for m in layer.sent] == [5], "sent before publish_activity returned"
    events.publish_activity(migration_item(6, state="switchover"))
    events.publish_activity(migration_item(50, key="migration-2"))
    events.publish_activity({"type": "alarm", "item": {"key": "alarm-3", "id": 3, "state": "firing", "active": True}})
    wait_for(layer, 3, timeout=events.ACTIVITY_WINDOW_S + 2)
    first, *rest = layer.sent
    by_type = {m["type"]: m for m in rest}
    assert len(rest) == 2 and set(by_type) == {"migration", "alarm"}
    assert [(i["key"], i["state"]) for i in by_type["migration"]["items"]] == [
        ("migration-1", "switchover"),
        ("migration-2", "precopy"),
    ]
    assert "sent_at" not in by_type["alarm"], "only a publisher's stamped messages carry sent_at"
    assert [m["seq"] for m in layer.sent] == sorted(m["seq"] for m in layer.sent)
    assert len({m["seq"] for m in layer.sent}) == 3


def test_a_workload_change_is_never_held(layer):
    events.publish_activity(migration_item(1))
    events.flush_activity()  # a window has just begun
    layer.sent.clear()
    events.publish_activity(migration_item(2))  # held
    events.publish_activity({"type": "workload", "state": "moved", "workload": {"id": 7, "name": "vm", "kind": "vm"}})
    assert [m["type"] for m in layer.sent] == ["workload"]
    wait_for(layer, 2, timeout=events.ACTIVITY_WINDOW_S + 2)
    assert [m["type"] for m in layer.sent] == ["workload", "migration"]
    assert layer.sent[0]["seq"] < layer.sent[1]["seq"]


def test_a_worker_child_that_exits_sends_what_it_holds_first(layer):
    # A prefork child exits with os._exit (no atexit): Celery's worker_process_shutdown is its last word.
    events.publish_activity(migration_item(1))
    events.flush_activity()  # a window has just begun
    layer.sent.clear()
    events.publish_activity(migration_item(2))  # held
    assert layer.sent == []
    worker_process_shutdown.send(sender=None, pid=os.getpid(), exitcode=0)
    assert [m["item"]["percent"] for m in layer.sent] == [2], "sent at once, not when the window ends"
