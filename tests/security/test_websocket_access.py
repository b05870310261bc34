"""Every websocket route refuses: no Origin, a foreign Origin, anonymous users, inactive users, unknown objects;
an allowed user gets the snapshot and then real progress through the Redis channel layer."""

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from hybridcloud.asgi import application
from tests import factories
from tests.conftest import ORIGIN

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@database_sync_to_async
def _objects(operator):
    from migration.dr.models import DrillRun, RecoveryPlan
    from migration.dr.services import drill_start
    from migration.services import migration_start

    topo = factories.topology()
    vm = factories.workload(topo.ca_hosts[0], segment=topo.ca_local)
    migration = migration_start(workload=vm, destination_host=topo.ca_hosts[1], requested_by=operator, policy="force")
    plan = RecoveryPlan.objects.create(name="p", protected_site=topo.ca, recovery_site=topo.va, target_rto_s=600)
    drill = drill_start(plan=plan, started_by=operator, enqueue=False)
    assert DrillRun.objects.filter(pk=drill.pk).exists()
    return migration, drill


async def _connect(path, headers):
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await communicator.connect(timeout=10)
    return communicator, connected, code


def _routes(migration, drill):
    return ["/ws/activity/", f"/ws/migrations/{migration.pk}/", f"/ws/drills/{drill.pk}/"]


async def test_every_route_refuses_missing_or_foreign_origin_and_anonymous(ws_headers, viewer, operator):
    migration, drill = await _objects(operator)
    signed_in = await database_sync_to_async(ws_headers)(viewer)
    no_origin = [h for h in signed_in if h[0] != b"origin"]
    foreign = [*no_origin, (b"origin", b"https://evil.example.com")]
    anonymous = [ORIGIN, (b"host", b"localhost")]
    for path in _routes(migration, drill):
        for label, headers in (("no origin", no_origin), ("foreign origin", foreign), ("anonymous", anonymous)):
            communicator, connected, code = await _connect(path, headers)
            assert not connected, f"{path} accepted a {label} handshake"
            if label == "anonymous":
                assert code == 4401
            await communicator.disconnect()


async def test_inactive_user_with_a_live_session_is_refused(ws_headers, operator):
    migration, drill = await _objects(operator)
    headers = await database_sync_to_async(ws_headers)(operator)

    @database_sync_to_async
    def deactivate():
        operator.is_active = False
        operator.save(update_fields=["is_active"])

    await deactivate()
    for path in _routes(migration, drill):
        communicator, connected, _ = await _connect(path, headers)
        assert not connected, f"{path} accepted an inactive user"
        await communicator.disconnect()


async def test_unknown_objects_are_refused_with_4404(ws_headers, viewer):
    headers = await database_sync_to_async(ws_headers)(viewer)
    for path in ("/ws/migrations/987654/", "/ws/drills/987654/"):
        communicator, connected, code = await _connect(path, headers)
        assert not connected and code == 4404
        await communicator.disconnect()


async def test_allowed_viewer_gets_a_snapshot_then_progress_over_redis(ws_headers, viewer, operator):
    from migration.progress import publish_progress

    migration, _ = await _objects(operator)
    headers = await database_sync_to_async(ws_headers)(viewer)
    communicator, connected, _ = await _connect(f"/ws/migrations/{migration.pk}/", headers)
    assert connected
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["type"] == "snapshot" and snapshot["state"] == migration.state

    @database_sync_to_async
    def push():
        migration.refresh_from_db()
        assert publish_progress(migration, "phase", seq=snapshot["seq"] + 1)

    await push()
    pushed = await communicator.receive_json_from(timeout=5)
    assert pushed["seq"] == snapshot["seq"] + 1 and pushed["type"] in ("progress", "state")
    await communicator.disconnect()
