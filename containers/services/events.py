"""The containers' history: one event per change (with its audit record and, on commit, the `container_changed`
notification), and the move a live migration made, received from the migration driver's `workload_moved`."""

from __future__ import annotations

from django.db import transaction

from containers.choices import EventAction
from containers.models import ContainerEvent, ContainerSpec, Pod
from containers.signals import container_changed
from hybridcloud.core.audit import audit_record
from inventory.models import Workload


def record_event(
    action: str, *, message: str, user, workload: Workload | None = None, container_host=None, pod: Pod | None = None
) -> ContainerEvent:
    """Records what happened to a container-VM or a pod: its event, its audit record, and (after commit) the
    `container_changed` signal the live pages listen to."""
    actor = user if user is not None and user.is_authenticated else None
    event = ContainerEvent.objects.create(
        action=action,
        message=message[:500],
        user=actor,
        workload=workload,
        container_host=container_host,
        pod=pod,
        subject=workload.name if workload else str(pod),
    )
    audit_record(
        action=f"container.{action}",
        target=workload if workload is not None else pod,
        actor=actor,
        after={"container_host": container_host.pk if container_host else None, "event": event.pk},
        message=message[:500],
    )
    if workload is not None or container_host is not None:
        workload_id = workload.pk if workload else None
        host_id = container_host.pk if container_host else None
        transaction.on_commit(
            lambda: container_changed.send(
                sender=ContainerSpec, workload_id=workload_id, action=action, container_host_id=host_id
            )
        )
    return event


def container_moved(*, workload: Workload, migration) -> ContainerEvent | None:
    """Records that a live migration moved the container-VM `workload` to another host (after the move
    committed). Returns the "move" event, or None when `workload` is not a container-VM. Recording it twice for one
    migration records it once."""
    spec = ContainerSpec.objects.select_related("container_host").filter(workload=workload).first()
    if spec is None:
        return None
    marker = f"(migration #{migration.pk})"
    existing = ContainerEvent.objects.filter(
        workload=workload, action=EventAction.MOVE, message__endswith=marker
    ).first()
    if existing is not None:
        return existing
    message = f"Moved live from host {migration.source_host.name} to host {migration.destination_host.name} {marker}"
    with transaction.atomic():
        return record_event(
            EventAction.MOVE,
            workload=workload,
            container_host=spec.container_host,
            user=migration.requested_by,
            message=message,
        )


def on_workload_moved(sender, *, migration, **kwargs) -> bool:
    """`migration.signals.workload_moved` receiver: a container-VM's history records the move. True when it did
    (its `container_changed` then announces the move, so the driver does not announce it again)."""
    return container_moved(workload=migration.workload, migration=migration) is not None
