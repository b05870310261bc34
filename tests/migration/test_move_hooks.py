"""When a migration completes, the workloads pages hear of it, and a container-VM's history records the move."""

from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from containers.choices import EventAction
from containers.models import ContainerEvent, ContainerHost
from containers.services.create import container_create
from containers.services.events import container_moved
from containers.services.images import image_pull
from hybridcloud.asgi import application
from hybridcloud.core.units import GIB
from inventory.models import Workload
from migration.choices import RUNNING_STATES
from migration.driver import step_link
from migration.models import Migration
from migration.services import migration_start
from tests import factories


@pytest.fixture(autouse=True)
def no_worker(monkeypatch):
    """The tests step the driver by hand: no Celery chain runs beside them."""
    monkeypatch.setattr("migration.chains.kick_link", lambda *args, **kwargs: False)


def drive(link_key: str, *, steps: int = 300) -> None:
    """The driver's steps by hand, each one second of wall time after the previous."""
    for _ in range(steps):
        for m in Migration.objects.filter(link_key=link_key, last_step_at__isnull=False):
            Migration.objects.filter(pk=m.pk).update(last_step_at=m.last_step_at - timedelta(seconds=1))
        if not step_link(link_key) and not Migration.objects.filter(link_key=link_key, state__in=RUNNING_STATES):
            return


def a_container_vm(topo) -> Workload:
    image_pull(repository="nginx", tag="1.27")
    container_host = ContainerHost.objects.create(
        name="ca-docker", cluster=topo.ca_cluster, cpu_limit=16, memory_limit_bytes=64 * GIB,
        segment=topo.stretched, endpoint="tcp://ca-docker.example.net:2376",
    )  # fmt: skip
    return container_create(container_host=container_host, name="web", image_ref="nginx:1.27", memory_bytes="2g")


@pytest.mark.django_db(transaction=True)
def test_a_container_vm_moved_by_a_migration_has_a_move_event_naming_both_hosts(operator):
    topo = factories.topology()
    workload = a_container_vm(topo)
    source = workload.host
    destination = next(h for h in topo.ca_hosts if h.pk != source.pk)
    migration = migration_start(workload=workload, destination_host=destination, requested_by=operator)
    drive(migration.link_key)
    migration.refresh_from_db()
    assert migration.state == "completed", migration.outcome_reason
    moves = ContainerEvent.objects.filter(workload=workload, action=EventAction.MOVE)
    assert moves.count() == 1
    move = moves.get()
    assert source.name in move.message and destination.name in move.message
    assert move.user == operator and move.subject == "web"


@pytest.mark.django_db(transaction=True)
def test_recording_a_move_twice_keeps_one_event_and_a_plain_vm_gets_none():
    topo = factories.topology()
    workload = a_container_vm(topo)
    destination = next(h for h in topo.ca_hosts if h.pk != workload.host_id)
    migration = migration_start(workload=workload, destination_host=destination)
    first = container_moved(workload=workload, migration=migration)
    again = container_moved(workload=workload, migration=migration)
    assert first is not None and again.pk == first.pk
    vm = factories.workload(topo.ca_hosts[0], name="plain-vm")
    assert container_moved(workload=vm, migration=migration) is None
    assert not ContainerEvent.objects.filter(workload=vm).exists()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_activity_channel_announces_the_moved_workload_when_the_migration_completes(ws_headers, viewer):
    @database_sync_to_async
    def start():
        topo = factories.topology()
        vm = factories.workload(topo.ca_hosts[0], name="moving-vm", memory_gib=2)
        return migration_start(workload=vm, destination_host=topo.ca_hosts[1])

    migration = await start()
    communicator = WebsocketCommunicator(
        application, "/ws/activity/", headers=await database_sync_to_async(ws_headers)(viewer)
    )
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    await communicator.receive_json_from(timeout=5)  # the snapshot
    await database_sync_to_async(drive)(migration.link_key)
    workload_pushes = []
    while True:
        message = await communicator.receive_json_from(timeout=5)
        if message["type"] == "workload":
            workload_pushes.append(message)
            break
        assert message["type"] == "migration"
    assert workload_pushes[0]["state"] == "moved"
    assert workload_pushes[0]["workload"] == {"id": migration.workload_id, "name": "moving-vm", "kind": "vm"}
    await communicator.disconnect()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_moved_container_vm_is_announced_once_by_its_container_side(ws_headers, viewer):
    @database_sync_to_async
    def start():
        topo = factories.topology()
        workload = a_container_vm(topo)
        destination = next(h for h in topo.ca_hosts if h.pk != workload.host_id)
        return migration_start(workload=workload, destination_host=destination)

    migration = await start()
    communicator = WebsocketCommunicator(
        application, "/ws/activity/", headers=await database_sync_to_async(ws_headers)(viewer)
    )
    connected, _ = await communicator.connect(timeout=10)
    assert connected
    await communicator.receive_json_from(timeout=5)  # the snapshot
    await database_sync_to_async(drive)(migration.link_key)
    workload_pushes = []
    while not await communicator.receive_nothing(timeout=1):
        message = await communicator.receive_json_from(timeout=5)
        if message["type"] == "workload":
            workload_pushes.append(message)
    assert [(m["state"], m["workload"]["name"]) for m in workload_pushes] == [("move", "web")]
    await communicator.disconnect()
