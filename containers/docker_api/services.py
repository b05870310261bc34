"""The one write the Docker API needs that containers.services has no service for yet: renaming a container-VM
(`docker rename`). It follows the same rules (valid, unique names; an audit event; notification on commit)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from containers.models import ContainerSpec
from containers.services import NAME_RE, ContainerRefused, _record
from inventory.models import Workload

RENAME = "rename"  # an event action; containers.choices.EventAction has no value for it yet


def container_rename(*, workload: Workload, name: str, user=None) -> Workload:
    """Renames a container-VM (its workload): the new name must be a valid container name no other workload has."""
    name = (name or "").strip().lstrip("/")
    if not name:
        raise ContainerRefused("Error when allocating new name: the new name is empty.", code="bad_value")
    if not NAME_RE.match(name) or len(name) > 128:
        raise ContainerRefused(
            f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-]+ are allowed (at least 2 characters).",
            code="bad_name",
        )
    with transaction.atomic():
        spec = ContainerSpec.objects.select_related("container_host").get(workload=workload)
        old = Workload.objects.values_list("name", flat=True).get(pk=workload.pk)
        if old == name:
            raise ContainerRefused(
                f"Renaming a container with the same name as its current name: {name}.", code="bad_value"
            )
        if Workload.objects.filter(name=name).exists():
            raise ContainerRefused(f'Conflict. The container name "/{name}" is already in use.', code="name_in_use")
        Workload.objects.filter(pk=workload.pk).update(name=name, updated_at=timezone.now())
        workload.refresh_from_db()
        _record(RENAME, workload=workload, container_host=spec.container_host, user=user, message=f"Renamed from {old}")
    return workload
