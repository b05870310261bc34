"""A container-VM's life after creation: start, stop, restart, rename and remove, each one transaction that records
its event. A migration in flight blocks a removal (containers sit above the migration app and read it directly)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from containers.choices import ContainerState, EventAction
from containers.docker_api.parsing import check_name
from containers.models import ContainerSpec
from containers.services.events import record_event
from containers.services.limits import check_container_host_limits
from containers.services.refusals import ContainerRefused, validation_messages
from inventory.choices import PowerState
from inventory.models import Workload
from migration.choices import ACTIVE_STATES
from migration.models import Migration

RENAME = "rename"  # an event action; containers.choices.EventAction has no value for it yet


def _spec(workload: Workload) -> ContainerSpec:
    try:
        return ContainerSpec.objects.select_related("container_host", "image").get(workload=workload)
    except ContainerSpec.DoesNotExist:
        raise ContainerRefused(f"{workload.name} is not a container-VM.", code="not_found") from None


def _check_can_start(spec: ContainerSpec, workload: Workload) -> None:
    """Refuses (no_capacity) a start that the container host's limits or the host's capacity cannot take."""
    check_container_host_limits(spec.container_host, spec.cpus, workload.memory_bytes, name=workload.name)
    workload.power_state = PowerState.ON
    try:
        workload.full_clean()
    except ValidationError as exc:
        raise ContainerRefused(
            f"No capacity to start {workload.name} on host {workload.host.name}: {validation_messages(exc)}",
            code="no_capacity",
        ) from None


def _mark_running(spec: ContainerSpec) -> None:
    ContainerSpec.objects.filter(pk=spec.pk).update(
        state=ContainerState.RUNNING, started_at=timezone.now(), finished_at=None, exit_code=None
    )


def container_start(*, workload: Workload, user=None) -> Workload:
    """Starts a created or exited container-VM on its host, within the container host's limits and the host's
    capacity. Starting a running container changes nothing."""
    with transaction.atomic():
        spec = _spec(workload)
        workload.refresh_from_db()
        if workload.power_state == PowerState.ON:
            return workload
        _check_can_start(spec, workload)
        # Conditional: only the request that finds it off turns it on.
        if (
            not Workload.objects.filter(pk=workload.pk)
            .exclude(power_state=PowerState.ON)
            .update(power_state=PowerState.ON, updated_at=timezone.now())
        ):
            workload.refresh_from_db()
            return workload
        _mark_running(spec)
        record_event(
            EventAction.START, workload=workload, container_host=spec.container_host, user=user, message="Started"
        )
    workload.refresh_from_db()
    return workload


def container_stop(*, workload: Workload, user=None, exit_code: int = 0) -> Workload:
    """Stops a running container-VM (it exits with exit_code). Stopping a stopped container changes nothing."""
    with transaction.atomic():
        spec = _spec(workload)
        if not Workload.objects.filter(pk=workload.pk, power_state=PowerState.ON).update(
            power_state=PowerState.OFF, updated_at=timezone.now()
        ):
            workload.refresh_from_db()
            return workload
        ContainerSpec.objects.filter(pk=spec.pk).update(
            state=ContainerState.EXITED, finished_at=timezone.now(), exit_code=exit_code
        )
        record_event(
            EventAction.STOP,
            workload=workload,
            container_host=spec.container_host,
            user=user,
            message=f"Stopped (exit code {exit_code})",
        )
    workload.refresh_from_db()
    return workload


def container_restart(*, workload: Workload, user=None) -> Workload:
    """Restarts a container-VM: stop if running, then start, recorded as one restart event."""
    with transaction.atomic():
        spec = _spec(workload)
        workload.refresh_from_db()
        if workload.power_state != PowerState.ON:
            _check_can_start(spec, workload)
            Workload.objects.filter(pk=workload.pk).update(power_state=PowerState.ON, updated_at=timezone.now())
        _mark_running(spec)
        record_event(
            EventAction.RESTART, workload=workload, container_host=spec.container_host, user=user, message="Restarted"
        )
    workload.refresh_from_db()
    return workload


def active_migration_of(workload: Workload) -> Migration | None:
    """The workload's active migration (queued to switchover), or None."""
    return Migration.objects.filter(workload=workload, state__in=list(ACTIVE_STATES)).first()


def container_remove(*, workload: Workload, user=None, force: bool = False) -> str:
    """Removes a container-VM (`docker rm`): refused while it runs unless force=True (then it is stopped first), and
    always while it is migrating. Its events stay, under its name, which is returned."""
    with transaction.atomic():
        spec = _spec(workload)
        workload.refresh_from_db()
        migration = active_migration_of(workload)
        if migration is not None:
            raise ContainerRefused(
                f"You cannot remove {workload.name} while it is migrating (migration {migration.pk} is "
                f"{migration.state}); wait for it to finish or cancel it.",
                code="conflict",
            )
        if workload.power_state == PowerState.ON and not force:
            raise ContainerRefused(
                f"You cannot remove a running container: {workload.name} is running. Stop it first, or force "
                "the removal.",
                code="conflict",
            )
        name, host = workload.name, spec.container_host
        record_event(
            EventAction.REMOVE,
            workload=workload,
            container_host=host,
            user=user,
            message="Removed" + (" (forced while running)" if workload.power_state == PowerState.ON else ""),
        )
        workload.delete()  # the spec and its published ports go with it; events keep the name
    return name


def container_rename(*, workload: Workload, name: str, user=None) -> Workload:
    """Renames a container-VM (`docker rename`; its workload): the new name must be a valid container name no other
    workload has."""
    name = (name or "").strip().lstrip("/")
    if not name:
        raise ContainerRefused("Error when allocating new name: the new name is empty.", code="bad_value")
    check_name(name)
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
        record_event(
            RENAME, workload=workload, container_host=spec.container_host, user=user, message=f"Renamed from {old}"
        )
    return workload
