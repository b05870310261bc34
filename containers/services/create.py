"""Creating a container-VM: the one path the form, the REST API, the Docker Engine API and the seed use.

Every refusal raises `ContainerRefused` before anything is written, or inside the transaction that is then rolled
back: a refused request creates nothing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from containers.choices import ContainerState, EventAction, RestartPolicy
from containers.docker_api.parsing import (
    DEFAULT_MEMORY_BYTES,
    check_name,
    parse_command,
    parse_cpus,
    parse_env,
    parse_memory,
    parse_port_spec,
)
from containers.models import ContainerHost, ContainerSpec, Image, PublishedPort
from containers.services.events import record_event
from containers.services.images import image_resolve
from containers.services.limits import check_container_host_limits
from containers.services.refusals import ContainerRefused, validation_messages
from hybridcloud.core.units import GIB
from inventory.addresses import NoFreeAddress, allocate_ip
from inventory.choices import PowerState, WorkloadKind
from inventory.models import Workload
from migration.placement import Demand, place_new_workload
from migration.prechecks import PrecheckContext

CONTAINER_DISK_WRITE_BPS = 1_000_000  # a container-VM's disk writes (logs, writable layer), mirrored on storage moves
# Images whose processes write memory fast (databases, caches): their container-VMs dirty more memory.
BUSY_IMAGES = ("postgres", "mysql", "mariadb", "redis", "mongo", "elasticsearch", "memcached", "cassandra")


@dataclass(frozen=True)
class ContainerRequest:
    """A create request once parsed: every value checked and typed."""

    name: str
    image: Image
    command: list[str]
    environment: dict[str, str]
    mappings: list[dict]
    cpus: Decimal
    memory_bytes: int
    restart_policy: str

    @property
    def vcpus(self) -> int:
        return max(1, math.ceil(self.cpus))

    @property
    def disk_bytes(self) -> int:
        return GIB + self.image.size_bytes


def container_create(
    *,
    container_host: ContainerHost,
    name: str,
    image_ref: str,
    command: str | list | None = None,
    env: dict | list | None = None,
    ports: list | None = None,
    cpus: float | str | Decimal | None = 1,
    memory_bytes: int | str | None = DEFAULT_MEMORY_BYTES,
    restart_policy: str = RestartPolicy.NO,
    start: bool = True,
    user=None,
) -> Workload:
    """Creates a container-VM the way `docker run -d` (start=True) or `docker create` (start=False) does: checks the
    name, the image, the ports, the container host's limits and the cluster's capacity, places it on the host with
    the most free memory (`migration.placement.place_new_workload`), gives it the next free address on the container
    host's segment and records the events. Raises ContainerRefused and creates nothing when any check fails."""
    request = _parse_request(
        container_host,
        name=name,
        image_ref=image_ref,
        command=command,
        env=env,
        ports=ports,
        cpus=cpus,
        memory_bytes=memory_bytes,
        restart_policy=restart_policy,
    )
    with transaction.atomic():
        if start:
            check_container_host_limits(container_host, request.cpus, request.memory_bytes, name=request.name)
        workload = _new_workload(container_host, request, start=start)
        _save(container_host, request, workload, start=start)
        _record_created(container_host, request, workload, start=start, user=user)
    return workload


def _parse_request(container_host: ContainerHost, *, name: str, image_ref: str, **values) -> ContainerRequest:
    """Every check that needs no lock: the image, the name (free, valid), the restart policy, the values' syntax
    and the ports (none twice, none taken)."""
    image = image_resolve(image_ref)
    name = check_name((name or "").strip().lstrip("/") or _generate_name(image))
    if Workload.objects.filter(name=name).exists():
        raise ContainerRefused(
            f'Conflict. The container name "{name}" is already in use: workload names are unique. Choose another '
            "name or remove that workload.",
            code="name_in_use",
        )
    restart_policy = values["restart_policy"]
    if restart_policy not in RestartPolicy.values:
        raise ContainerRefused(
            f"Invalid restart policy '{restart_policy}': use {', '.join(RestartPolicy.values)}.", code="bad_value"
        )
    request = ContainerRequest(
        name=name,
        image=image,
        cpus=parse_cpus(values["cpus"]),
        memory_bytes=parse_memory(values["memory_bytes"]),
        environment=parse_env(values["env"]),
        command=parse_command(values["command"]),
        mappings=[parse_port_spec(p) for p in values["ports"] or []],
        restart_policy=restart_policy,
    )
    _check_ports(container_host, request.mappings)
    return request


def _generate_name(image: Image) -> str:
    base = re.sub(r"[^a-zA-Z0-9_.-]", "-", image.repository.rsplit("/", 1)[-1]) or "container"
    for n in range(1, 100_000):
        candidate = f"{base}-{n}"
        if not Workload.objects.filter(name=candidate).exists():
            return candidate
    raise ContainerRefused("Could not generate a free container name; give one.", code="bad_name")


def _check_ports(container_host: ContainerHost, mappings: list[dict]) -> None:
    """Refuses a host port published twice in the request, or already published on the container host."""
    seen = set()
    for mapping in mappings:
        key = (mapping["host_port"], mapping["protocol"])
        if key in seen:
            raise ContainerRefused(f"Port {key[0]}/{key[1]} is published twice in this request.", code="port_in_use")
        seen.add(key)
    if not seen:
        return
    clash = Q()
    for port, protocol in seen:
        clash |= Q(host_port=port, protocol=protocol)
    taken = (
        PublishedPort.objects.filter(clash, container_host=container_host)
        .select_related("container__workload")
        .order_by("host_port")
        .first()
    )
    if taken:
        raise ContainerRefused(
            f"Bind for {container_host.name}:{taken.host_port}/{taken.protocol} failed: port is already allocated "
            f"(published by container {taken.container.workload.name}).",
            code="port_in_use",
        )


def _dirty_profile(image: Image, memory_bytes: int) -> tuple[int, int]:
    """(dirty rate B/s, writable working set) plausible for a container: small for web and app servers, larger for
    databases and caches."""
    busy = any(part in image.repository for part in BUSY_IMAGES)
    rate = min(int(memory_bytes * (0.05 if busy else 0.01)), 200_000_000)
    working_set = memory_bytes // 2 if busy else memory_bytes // 5
    return max(rate, 64 * 1024), working_set


def _new_workload(container_host: ContainerHost, request: ContainerRequest, *, start: bool) -> Workload:
    """The container-VM's workload (not saved): placed on the container host's cluster, addressed on its segment."""
    placement = place_new_workload(
        hosts=container_host.cluster.hosts.all(),
        refusals=PrecheckContext().host_refusals,
        demand=Demand(
            vcpus=request.vcpus,
            memory_bytes=request.memory_bytes,
            disk_bytes=request.disk_bytes,
            what=f"container {request.name} on cluster {container_host.cluster.name}",
        ),
    )
    if placement.host is None:
        raise ContainerRefused(placement.reason, code="no_capacity")
    try:
        address = allocate_ip(container_host.segment)
    except NoFreeAddress as exc:
        raise ContainerRefused(str(exc), code="no_address") from None
    dirty_rate, working_set = _dirty_profile(request.image, request.memory_bytes)
    return Workload(
        name=request.name,
        kind=WorkloadKind.CONTAINER_VM,
        vcpus=request.vcpus,
        memory_bytes=request.memory_bytes,
        disk_bytes=request.disk_bytes,
        power_state=PowerState.ON if start else PowerState.OFF,
        host=placement.host,
        datastore=placement.datastore,
        segment=container_host.segment,
        ip_address=address,
        guest_os=f"Container-VM ({request.image.reference})"[:100],
        dirty_rate_bps=dirty_rate,
        working_set_bytes=working_set,
        disk_write_rate_bps=CONTAINER_DISK_WRITE_BPS,
    )


def _save(container_host: ContainerHost, request: ContainerRequest, workload: Workload, *, start: bool) -> None:
    """Writes the workload, its container spec and its published ports; a model check or a lost race refuses."""
    try:
        workload.full_clean()
        workload.save()
        spec = ContainerSpec(
            workload=workload,
            container_host=container_host,
            image=request.image,
            command=request.command,
            environment=request.environment,
            cpus=request.cpus,
            restart_policy=request.restart_policy,
            state=ContainerState.RUNNING if start else ContainerState.CREATED,
            started_at=timezone.now() if start else None,
        )
        spec.full_clean()
        spec.save()
        for mapping in request.mappings:
            PublishedPort.objects.create(container_host=container_host, container=spec, **mapping)
    except ValidationError as exc:
        raise ContainerRefused(f"Cannot create {request.name}: {validation_messages(exc)}", code="conflict") from None
    except IntegrityError:
        # Lost a race with a concurrent request for the same name, address or port.
        raise ContainerRefused(
            f"Cannot create {request.name}: its name, address or a port was taken meanwhile; try again.",
            code="conflict",
        ) from None


def _port_text(mapping: dict) -> str:
    return f"{mapping['host_port']}->{mapping['container_port']}/{mapping['protocol']}"


def _record_created(
    container_host: ContainerHost, request: ContainerRequest, workload: Workload, *, start: bool, user
) -> None:
    host = workload.host
    ports = f", ports {', '.join(_port_text(m) for m in request.mappings)}" if request.mappings else ""
    record_event(
        EventAction.CREATE,
        workload=workload,
        container_host=container_host,
        user=user,
        message=f"Created from {request.image.reference} on host {host.name} ({host.cluster.site.name}), "
        f"{workload.ip_address} on {container_host.segment.name}{ports}",
    )
    if start:
        record_event(EventAction.START, workload=workload, container_host=container_host, user=user, message="Started")
