"""Writes for containers: the one path the form, the REST API (and the Docker Engine API) use to create, start,
stop, restart and remove container-VMs, pull images and reschedule pods.

Every refusal raises `ContainerRefused` (a ValidationError with a `code`) before anything is written, or inside the
transaction that is then rolled back: a refused request creates nothing.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import re
import shlex
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone

from containers.choices import ContainerState, EventAction, Protocol, RestartPolicy
from containers.kubernetes import KubernetesDocumentError, parse_kubectl_list
from containers.models import (
    ContainerCluster,
    ContainerEvent,
    ContainerHost,
    ContainerSpec,
    Image,
    Node,
    Pod,
    PublishedPort,
)
from containers.signals import container_changed
from hybridcloud.core.audit import audit_record
from inventory.choices import HostState, PowerState, WorkloadKind
from inventory.models import Datastore, Host, NetworkSegment, Workload

GIB = 2**30
MIB = 2**20
DEFAULT_MEMORY_BYTES = 512 * MIB
CONTAINER_DISK_WRITE_BPS = 1_000_000  # a container-VM's disk writes (logs, writable layer), mirrored on storage moves
NODE_DISK_WRITE_BPS = 5_000_000  # a Kubernetes node VM's disk writes (images, logs, emptyDir volumes)
MIN_MEMORY_BYTES = 6 * MIB  # Docker refuses less: "Minimum memory limit allowed is 6MB".
NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
REPOSITORY_RE = re.compile(
    r"^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
PORT_SPEC_RE = re.compile(r"^(?:(?P<host>\d+):)?(?P<container>\d+)(?:/(?P<protocol>[a-z]+))?$")
# Images whose processes write memory fast (databases, caches): their container-VMs dirty more memory.
BUSY_IMAGES = ("postgres", "mysql", "mariadb", "redis", "mongo", "elasticsearch", "memcached", "cassandra")
ACTIVE_MIGRATION_STATES = ("queued", "prechecks", "precopy", "switchover")
POD_CANNOT_MOVE_LIVE = (
    "Pods are plain containers: they cannot move live. Moving one reschedules it: its containers stop on this node "
    "and start again on another one (a cold move, with a restart)."
)


class ContainerRefused(ValidationError):
    """A request the platform refuses, with a code saying why: bad_name, name_in_use, no_such_image, port_in_use,
    bad_value, no_capacity, no_address, conflict."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message, code=code)
        self.code = code


# -- parsing the Docker-style request --------------------------------------------------------------------------


def parse_image_ref(ref: str) -> tuple[str, str, str | None]:
    """Splits 'registry:5000/team/app:1.2@sha256:...' into (repository, tag, digest); the tag defaults to latest."""
    ref = (ref or "").strip()
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
    last = ref.rsplit("/", 1)[-1]
    repository, tag = ref.rsplit(":", 1) if ":" in last else (ref, "latest")
    for prefix in ("docker.io/library/", "docker.io/", "library/"):
        if repository.startswith(prefix):
            repository = repository.removeprefix(prefix)
            break
    return repository, tag, digest


def parse_port_spec(spec: str | dict) -> dict:
    """'8080:80/tcp', '80' or {"host_port", "container_port", "protocol"} → a validated port mapping."""
    if isinstance(spec, dict):
        raw_host, raw_container = spec.get("host_port"), spec.get("container_port")
        protocol = (spec.get("protocol") or "tcp").lower()
        if raw_host in (None, ""):
            raw_host = raw_container
    else:
        match = PORT_SPEC_RE.match(str(spec).strip())
        if not match:
            raise ContainerRefused(
                f"Invalid port '{spec}': write HOST:CONTAINER[/PROTOCOL], e.g. 8080:80/tcp.", code="bad_value"
            )
        raw_container = match["container"]
        raw_host = match["host"] or raw_container
        protocol = match["protocol"] or "tcp"
    try:
        host_port, container_port = int(raw_host), int(raw_container)
    except (TypeError, ValueError):
        raise ContainerRefused(f"Invalid port mapping {spec!r}: ports are numbers.", code="bad_value") from None
    for port in (host_port, container_port):
        if not 1 <= port <= 65535:
            raise ContainerRefused(f"Invalid port {port}: ports go from 1 to 65535.", code="bad_value")
    if protocol not in Protocol.values:
        raise ContainerRefused(f"Invalid protocol '{protocol}': use tcp, udp or sctp.", code="bad_value")
    return {"host_port": host_port, "container_port": container_port, "protocol": protocol}


def parse_env(env: dict | list | None) -> dict[str, str]:
    """A dict, or Docker's list of 'NAME=value' strings, → {name: value}."""
    if not env:
        return {}
    if isinstance(env, dict):
        items = env.items()
    else:
        items = []
        for entry in env:
            name, sep, value = str(entry).partition("=")
            if not sep:
                raise ContainerRefused(f"Invalid environment entry '{entry}': write NAME=value.", code="bad_value")
            items.append((name, value))
    result = {}
    for name, value in items:
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_.-]*$", str(name)):
            raise ContainerRefused(f"Invalid environment variable name '{name}'.", code="bad_value")
        result[str(name)] = "" if value is None else str(value)
    return result


def parse_command(command: str | list | None) -> list[str]:
    if not command:
        return []
    if isinstance(command, str):
        try:
            return shlex.split(command)
        except ValueError as exc:
            raise ContainerRefused(f"Invalid command: {exc}.", code="bad_value") from None
    return [str(arg) for arg in command]


def parse_cpus(cpus: float | str | Decimal | None) -> Decimal:
    try:
        value = Decimal(str(cpus if cpus not in (None, "") else 1)).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise ContainerRefused(
            f"Invalid CPU limit '{cpus}': give a number of CPUs, e.g. 0.5 or 2.", code="bad_value"
        ) from None
    if value <= 0:
        raise ContainerRefused(f"Invalid CPU limit {cpus}: it must be more than 0.", code="bad_value")
    return value


def parse_memory(memory: int | str | None) -> int:
    """Bytes, or Docker's '512m' / '2g' / '1024k' forms."""
    if memory in (None, "", 0):
        return DEFAULT_MEMORY_BYTES
    if isinstance(memory, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([bkmg]?)i?b?\s*", memory.lower())
        if not match:
            raise ContainerRefused(f"Invalid memory size '{memory}': write e.g. 512m or 2g.", code="bad_value")
        factor = {"": 1, "b": 1, "k": 2**10, "m": MIB, "g": GIB}[match[2]]
        value = int(float(match[1]) * factor)
    else:
        value = int(memory)
    if value < MIN_MEMORY_BYTES:
        raise ContainerRefused("Minimum memory limit allowed is 6MB.", code="bad_value")
    return value


def format_cpus(value: Decimal | int | float) -> str:
    """2.00 → '2', 1.50 → '1.5'."""
    return f"{Decimal(str(value)).normalize():f}"


def format_gib(value: int | float) -> str:
    return f"{value / GIB:.1f} GiB"


# -- images --------------------------------------------------------------------------------------------------------

KNOWN_IMAGE_SIZES_MB = {
    "nginx": 188, "redis": 117, "postgres": 435, "python": 125, "grafana/grafana": 467, "alpine": 8, "busybox": 4,
    "prom/prometheus": 262, "node": 1100, "mysql": 586, "mariadb": 405, "mongo": 757, "traefik": 186,
    "httpd": 148, "memcached": 84, "rabbitmq": 231, "elasticsearch": 1240, "ubuntu": 78, "debian": 117,
}  # fmt: skip


def image_pull(*, repository: str, tag: str = "latest") -> Image:
    """Pulls an image (simulated): the digest and size follow from its name, so a pull is repeatable. Pulling an
    image that is already there returns it unchanged."""
    repository, parsed_tag, _ = parse_image_ref(f"{repository}:{tag}" if tag else repository)
    tag = parsed_tag
    if not REPOSITORY_RE.match(repository) or len(repository) > 255:
        raise ContainerRefused(
            f"invalid reference format: repository name '{repository}' is not valid", code="bad_value"
        )
    if not TAG_RE.match(tag):
        raise ContainerRefused(f"invalid reference format: tag '{tag}' is not valid", code="bad_value")
    existing = Image.objects.filter(repository=repository, tag=tag).first()
    if existing:
        return existing
    seed = hashlib.sha256(f"{repository}:{tag}".encode()).hexdigest()
    base_mb = KNOWN_IMAGE_SIZES_MB.get(repository.rsplit(":", 1)[0]) or 20 + int(seed[:4], 16) % 380
    if tag.endswith(("-slim", "-alpine")) or "alpine" in tag:
        base_mb = max(5, base_mb // 3)
    size = base_mb * 1_000_000 + int(seed[4:9], 16) % 1_000_000
    image = Image(repository=repository, tag=tag, digest=f"sha256:{seed}", size_bytes=size)
    image.full_clean()
    try:
        with transaction.atomic():
            image.save()
    except IntegrityError:  # pulled concurrently: same name, same result
        return Image.objects.get(repository=repository, tag=tag)
    return image


def image_resolve(ref: str) -> Image:
    """The image a reference names (repository[:tag], @digest, or an id prefix), or 'No such image'."""
    repository, tag, digest = parse_image_ref(ref)
    image = None
    if digest:
        image = Image.objects.filter(digest=digest).first()
    elif re.fullmatch(r"(sha256:)?[0-9a-f]{12,64}", ref.strip()):
        image = Image.objects.filter(digest__startswith="sha256:" + ref.strip().removeprefix("sha256:")).first()
    if image is None and not digest:
        image = Image.objects.filter(repository=repository, tag=tag).first()
    if image is None:
        shown = f"{repository}@{digest}" if digest else f"{repository}:{tag}"
        raise ContainerRefused(f"No such image: {shown}", code="no_such_image")
    return image


# -- placement and addresses --------------------------------------------------------------------------------------


def host_usage(hosts) -> dict[int, tuple[int, int]]:
    """{host pk: (memory bytes, vCPUs)} used by powered-on workloads, in one query."""
    rows = (
        Workload.objects.filter(host__in=hosts, power_state=PowerState.ON)
        .values("host")
        .annotate(memory=Sum("memory_bytes"), vcpus=Sum("vcpus"))
    )
    return {row["host"]: (row["memory"] or 0, row["vcpus"] or 0) for row in rows}


def place_workload(*, hosts, vcpus: int, memory_bytes: int, disk_bytes: int, what: str) -> tuple[Host, Datastore]:
    """The connected host with the most free memory that fits the workload (memory never overcommitted, vCPUs within
    the host's overcommitted cores), and the datastore it sees with the most free space; or a refusal that says how
    much is needed and how much the best host has free."""
    candidates = list(hosts.select_related("cluster__site").prefetch_related("datastores"))
    connected = [h for h in candidates if h.state == HostState.CONNECTED]
    if not connected:
        raise ContainerRefused(f"No capacity for {what}: no connected host to run it on.", code="no_capacity")
    usage = host_usage(connected)
    best, best_free = None, None
    fitting = []
    for host in connected:
        used_memory, used_vcpus = usage.get(host.pk, (0, 0))
        free_memory, free_vcpus = host.memory_bytes - used_memory, host.vcpu_capacity - used_vcpus
        if best_free is None or free_memory > best_free[0]:
            best, best_free = host, (free_memory, free_vcpus)
        if free_memory >= memory_bytes and free_vcpus >= vcpus and vcpus <= host.cores:
            datastores = [
                d for d in host.datastores.all() if d.site_id == host.cluster.site_id and d.free_bytes >= disk_bytes
            ]
            if datastores:
                fitting.append((free_memory, host, max(datastores, key=lambda d: d.free_bytes)))
    if not fitting:
        raise ContainerRefused(
            f"No capacity for {what}: it needs {vcpus} vCPU{'s' if vcpus > 1 else ''} and {format_gib(memory_bytes)} "
            f"of memory; the host with the most free, {best.name}, has {max(best_free[1], 0)} vCPUs and "
            f"{format_gib(max(best_free[0], 0))} free.",
            code="no_capacity",
        )
    _, host, datastore = max(fitting, key=lambda item: (item[0], -item[1].pk))
    return host, datastore


def allocate_ip(segment: NetworkSegment, preferred: str | None = None) -> str:
    """The first free address on the segment (not the network, broadcast or gateway address, nor one in use); the
    preferred address when it is free and inside the segment."""
    network = segment.network
    used = set(Workload.objects.filter(segment=segment).values_list("ip_address", flat=True))
    used.add(str(ipaddress.ip_address(segment.gateway)))
    if preferred:
        try:
            address = ipaddress.ip_address(preferred)
            if (
                address in network
                and str(address) not in used
                and address not in (network.network_address, network.broadcast_address)
            ):
                return str(address)
        except ValueError:
            pass
    for address in network.hosts():
        if str(address) not in used:
            return str(address)
    raise ContainerRefused(f"Segment {segment.name} ({segment.cidr}) has no free address left.", code="no_address")


def container_host_free(container_host: ContainerHost) -> tuple[Decimal, int]:
    """(CPUs, memory bytes) the container host's limits leave for more running containers."""
    used = ContainerSpec.objects.filter(container_host=container_host, workload__power_state=PowerState.ON).aggregate(
        cpus=Sum("cpus"), memory=Sum("workload__memory_bytes")
    )
    return container_host.cpu_limit - (used["cpus"] or 0), container_host.memory_limit_bytes - (used["memory"] or 0)


def _check_container_host_limits(container_host: ContainerHost, cpus: Decimal, memory_bytes: int, *, name: str) -> None:
    free_cpus, free_memory = container_host_free(container_host)
    if cpus > free_cpus or memory_bytes > free_memory:
        raise ContainerRefused(
            f"No capacity on container host {container_host.name} for {name}: it needs {format_cpus(cpus)} CPUs and "
            f"{format_gib(memory_bytes)}; its limits ({format_cpus(container_host.cpu_limit)} CPUs, "
            f"{format_gib(container_host.memory_limit_bytes)}) leave {format_cpus(max(free_cpus, 0))} CPUs and "
            f"{format_gib(max(free_memory, 0))} free.",
            code="no_capacity",
        )


# -- events and notifications -----------------------------------------------------------------------------------------


def _record(
    action: str, *, message: str, user, workload: Workload | None = None, container_host=None, pod: Pod | None = None
) -> ContainerEvent:
    event = ContainerEvent.objects.create(
        action=action,
        message=message[:500],
        user=user if user is not None and user.is_authenticated else None,
        workload=workload,
        container_host=container_host,
        pod=pod,
        subject=workload.name if workload else str(pod),
    )
    audit_record(
        action=f"container.{action}",
        target=workload if workload is not None else pod,
        actor=user if user is not None and user.is_authenticated else None,
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


def _validation_messages(exc: ValidationError) -> str:
    return " ".join(exc.messages)


# -- container-VMs -------------------------------------------------------------------------------------------------


def _dirty_profile(image: Image, memory_bytes: int) -> tuple[int, int]:
    """(dirty rate B/s, writable working set) plausible for a container: small for web and app servers, larger for
    databases and caches."""
    busy = any(part in image.repository for part in BUSY_IMAGES)
    rate = min(int(memory_bytes * (0.05 if busy else 0.01)), 200_000_000)
    working_set = memory_bytes // 2 if busy else memory_bytes // 5
    return max(rate, 64 * 1024), working_set


def _generate_name(image: Image) -> str:
    base = re.sub(r"[^a-zA-Z0-9_.-]", "-", image.repository.rsplit("/", 1)[-1]) or "container"
    for n in range(1, 100_000):
        candidate = f"{base}-{n}"
        if not Workload.objects.filter(name=candidate).exists():
            return candidate
    raise ContainerRefused("Could not generate a free container name; give one.", code="bad_name")


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
    the most free memory, gives it the next free address on the container host's segment and records the events.
    Raises ContainerRefused and creates nothing when any check fails."""
    image = image_resolve(image_ref)
    name = (name or "").strip().lstrip("/") or _generate_name(image)
    if not NAME_RE.match(name) or len(name) > 128:
        raise ContainerRefused(
            f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-]+ are allowed (at least 2 characters).",
            code="bad_name",
        )
    if Workload.objects.filter(name=name).exists():
        raise ContainerRefused(
            f'Conflict. The container name "{name}" is already in use: workload names are unique. Choose another '
            "name or remove that workload.",
            code="name_in_use",
        )
    if restart_policy not in RestartPolicy.values:
        raise ContainerRefused(
            f"Invalid restart policy '{restart_policy}': use {', '.join(RestartPolicy.values)}.", code="bad_value"
        )
    cpus = parse_cpus(cpus)
    memory_bytes = parse_memory(memory_bytes)
    environment = parse_env(env)
    arguments = parse_command(command)
    mappings = [parse_port_spec(p) for p in ports or []]
    _check_ports(container_host, mappings)
    vcpus = max(1, math.ceil(cpus))
    disk_bytes = GIB + image.size_bytes

    with transaction.atomic():
        if start:
            _check_container_host_limits(container_host, cpus, memory_bytes, name=name)
        host, datastore = place_workload(
            hosts=container_host.cluster.hosts.all(),
            vcpus=vcpus,
            memory_bytes=memory_bytes,
            disk_bytes=disk_bytes,
            what=f"container {name} on cluster {container_host.cluster.name}",
        )
        dirty_rate, working_set = _dirty_profile(image, memory_bytes)
        workload = Workload(
            name=name,
            kind=WorkloadKind.CONTAINER_VM,
            vcpus=vcpus,
            memory_bytes=memory_bytes,
            disk_bytes=disk_bytes,
            power_state=PowerState.ON if start else PowerState.OFF,
            host=host,
            datastore=datastore,
            segment=container_host.segment,
            ip_address=allocate_ip(container_host.segment),
            guest_os=f"Container-VM ({image.reference})"[:100],
            dirty_rate_bps=dirty_rate,
            working_set_bytes=working_set,
            disk_write_rate_bps=CONTAINER_DISK_WRITE_BPS,
        )
        try:
            workload.full_clean()
            workload.save()
            now = timezone.now()
            spec = ContainerSpec(
                workload=workload,
                container_host=container_host,
                image=image,
                command=arguments,
                environment=environment,
                cpus=cpus,
                restart_policy=restart_policy,
                state=ContainerState.RUNNING if start else ContainerState.CREATED,
                started_at=now if start else None,
            )
            spec.full_clean()
            spec.save()
            for mapping in mappings:
                PublishedPort.objects.create(container_host=container_host, container=spec, **mapping)
        except ValidationError as exc:
            raise ContainerRefused(f"Cannot create {name}: {_validation_messages(exc)}", code="conflict") from None
        except IntegrityError:
            # Lost a race with a concurrent request for the same name, address or port.
            raise ContainerRefused(
                f"Cannot create {name}: its name, address or a port was taken meanwhile; try again.", code="conflict"
            ) from None
        _record(
            EventAction.CREATE,
            workload=workload,
            container_host=container_host,
            user=user,
            message=f"Created from {image.reference} on host {host.name} ({host.cluster.site.name}), "
            f"{workload.ip_address} on {container_host.segment.name}"
            + (f", ports {', '.join(_port_text(m) for m in mappings)}" if mappings else ""),
        )
        if start:
            _record(EventAction.START, workload=workload, container_host=container_host, user=user, message="Started")
    return workload


def _port_text(mapping: dict) -> str:
    return f"{mapping['host_port']}->{mapping['container_port']}/{mapping['protocol']}"


def _check_ports(container_host: ContainerHost, mappings: list[dict]) -> None:
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


def _spec(workload: Workload) -> ContainerSpec:
    try:
        return ContainerSpec.objects.select_related("container_host", "image").get(workload=workload)
    except ContainerSpec.DoesNotExist:
        raise ContainerRefused(f"{workload.name} is not a container-VM.", code="not_found") from None


def container_moved(*, workload: Workload, migration) -> ContainerEvent | None:
    """Records that a live migration moved the container-VM `workload` to another host (called by the migration
    driver after the move commits). Returns the "move" event, or None when `workload` is not a container-VM.
    Recording it twice for one migration records it once."""
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
        return _record(
            EventAction.MOVE,
            workload=workload,
            container_host=spec.container_host,
            user=migration.requested_by,
            message=message,
        )


def _check_can_start(spec: ContainerSpec, workload: Workload) -> None:
    """Refuses (no_capacity) a start that the container host's limits or the host's capacity cannot take."""
    _check_container_host_limits(spec.container_host, spec.cpus, workload.memory_bytes, name=workload.name)
    workload.power_state = PowerState.ON
    try:
        workload.full_clean()
    except ValidationError as exc:
        raise ContainerRefused(
            f"No capacity to start {workload.name} on host {workload.host.name}: {_validation_messages(exc)}",
            code="no_capacity",
        ) from None


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
        ContainerSpec.objects.filter(pk=spec.pk).update(
            state=ContainerState.RUNNING, started_at=timezone.now(), finished_at=None, exit_code=None
        )
        _record(EventAction.START, workload=workload, container_host=spec.container_host, user=user, message="Started")
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
        _record(
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
        ContainerSpec.objects.filter(pk=spec.pk).update(
            state=ContainerState.RUNNING, started_at=timezone.now(), finished_at=None, exit_code=None
        )
        _record(
            EventAction.RESTART, workload=workload, container_host=spec.container_host, user=user, message="Restarted"
        )
    workload.refresh_from_db()
    return workload


def active_migration_of(workload: Workload):
    """The workload's active migration (queued to switchover), or None; None too while the migration app has no
    Migration model."""
    from django.apps import apps

    try:
        migration_model = apps.get_model("migration", "Migration")
    except LookupError:
        return None
    try:
        from migration.choices import ACTIVE_STATES
    except ImportError:
        ACTIVE_STATES = ACTIVE_MIGRATION_STATES  # noqa: N806
    return migration_model.objects.filter(workload=workload, state__in=list(ACTIVE_STATES)).first()


def container_remove(*, workload: Workload, user=None, force: bool = False) -> None:
    """Removes a container-VM (`docker rm`): refused while it runs unless force=True (then it is stopped first), and
    always while it is migrating. Its events stay, under its name."""
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
        _record(
            EventAction.REMOVE,
            workload=workload,
            container_host=host,
            user=user,
            message="Removed" + (" (forced while running)" if workload.power_state == PowerState.ON else ""),
        )
        workload.delete()  # the spec and its published ports go with it; events keep the name
    return name


# -- pods ---------------------------------------------------------------------------------------------------------


def pod_reschedule(*, pod: Pod, node: Node, user=None) -> Pod:
    """Moves a pod the only way a plain container moves: a cold move. Its containers stop on the current node and
    start on `node` (restart count + 1); it is not a live migration."""
    if node.cluster_id != pod.cluster_id:
        raise ContainerRefused(f"Node {node.name} is not in cluster {pod.cluster.name}.", code="bad_value")
    if node.pk == pod.node_id:
        raise ContainerRefused(f"Pod {pod} already runs on node {node.name}.", code="bad_value")
    if not node.ready:
        raise ContainerRefused(f"Node {node.name} is not Ready: pods cannot be scheduled on it.", code="conflict")
    with transaction.atomic():
        previous = pod.node.name if pod.node_id else "no node"
        Pod.objects.filter(pk=pod.pk).update(
            node=node, phase="Running", started_at=timezone.now(), restart_count=pod.restart_count + 1
        )
        pod.refresh_from_db()
        _record(
            EventAction.RESCHEDULE,
            pod=pod,
            user=user,
            message=f"Stopped on {previous}, started on {node.name} (cold move: its containers restarted)",
        )
    return pod


# -- importing an orchestrated cluster ------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """What an import changed. Node placements say where new node VMs went."""

    created_nodes: list[str] = field(default_factory=list)
    matched_nodes: list[str] = field(default_factory=list)
    removed_nodes: list[str] = field(default_factory=list)
    created_pods: list[str] = field(default_factory=list)
    updated_pods: list[str] = field(default_factory=list)
    unchanged_pods: list[str] = field(default_factory=list)
    removed_pods: list[str] = field(default_factory=list)
    placements: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        text = (
            f"Nodes: {len(self.created_nodes)} created, {len(self.matched_nodes)} matched to existing VMs, "
            f"{len(self.removed_nodes)} removed. Pods: {len(self.created_pods)} created, {len(self.updated_pods)} "
            f"updated, {len(self.unchanged_pods)} unchanged, {len(self.removed_pods)} removed."
        )
        if self.placements:
            text += " New node VMs: " + "; ".join(f"{n} on {where}" for n, where in self.placements.items()) + "."
        return text


def _node_vm(cluster: ContainerCluster, record, report: ImportReport) -> Workload:
    """The VM behind a node: the workload of that name, or a new VM placed on the cluster's site."""
    existing = Workload.objects.filter(name=record.name).first()
    if existing is not None:
        report.matched_nodes.append(record.name)
        return existing
    segment = cluster.segment or NetworkSegment.objects.filter(sites=cluster.site).order_by("name").first()
    if segment is None:
        raise ContainerRefused(
            f"items[{record.index}]: node {record.name} needs a VM, but no network segment is present on "
            f"{cluster.site}.",
            code="no_capacity",
        )
    try:
        host, datastore = place_workload(
            hosts=Host.objects.filter(cluster__site=cluster.site),
            vcpus=record.cpus,
            memory_bytes=record.memory_bytes,
            disk_bytes=record.disk_bytes,
            what=f"node VM {record.name} on {cluster.site}",
        )
    except ContainerRefused as exc:
        raise ContainerRefused(f"items[{record.index}]: {exc.messages[0]}", code=exc.code) from None
    workload = Workload(
        name=record.name,
        kind=WorkloadKind.VM,
        vcpus=record.cpus,
        memory_bytes=record.memory_bytes,
        disk_bytes=record.disk_bytes,
        power_state=PowerState.ON,
        host=host,
        datastore=datastore,
        segment=segment,
        ip_address=allocate_ip(segment, preferred=record.internal_ip),
        guest_os=record.os_image or "Linux (Kubernetes node)",
        dirty_rate_bps=min(record.memory_bytes // 50, 200_000_000),
        working_set_bytes=record.memory_bytes // 4,
        disk_write_rate_bps=NODE_DISK_WRITE_BPS,
    )
    try:
        workload.full_clean()
    except ValidationError as exc:
        raise ContainerRefused(
            f"items[{record.index}]: cannot create the VM for node {record.name}: {_validation_messages(exc)}",
            code="conflict",
        ) from None
    workload.save()
    report.created_nodes.append(record.name)
    report.placements[record.name] = f"host {host.name} ({cluster.site.name}), {workload.ip_address} on {segment.name}"
    return workload


def cluster_import_kubernetes(*, cluster: ContainerCluster, document: str | bytes | dict, user=None) -> ImportReport:
    """Imports `kubectl get nodes,pods -o json`: nodes matched to VMs by name or created as VMs on the cluster's
    site; pods created, updated, and removed when the document no longer has them. The document is validated in
    full first; the import is one transaction, so a refused document changes nothing."""
    try:
        parsed = parse_kubectl_list(document)
    except KubernetesDocumentError as exc:
        raise ContainerRefused(str(exc), code="bad_document") from None
    report = ImportReport()
    with transaction.atomic():
        existing_nodes = {node.name: node for node in cluster.nodes.all()}
        nodes: dict[str, Node] = {}
        for record in parsed.nodes:
            vm = _node_vm(cluster, record, report)
            node = existing_nodes.pop(record.name, None) or Node(cluster=cluster, name=record.name)
            node.workload = vm
            node.roles = record.roles
            node.kubelet_version = record.kubelet_version
            node.os_image = record.os_image
            node.internal_ip = record.internal_ip
            node.ready = record.ready
            try:
                node.full_clean()
            except ValidationError as exc:
                raise ContainerRefused(
                    f"items[{record.index}] (Node {record.name}): {_validation_messages(exc)}", code="bad_document"
                ) from None
            node.save()
            nodes[record.name] = node
        existing_pods = {(p.namespace, p.name): p for p in cluster.pods.all()}
        for record in parsed.pods:
            key = (record.namespace, record.name)
            pod = existing_pods.pop(key, None)
            values = {
                "uid": record.uid,
                "labels": record.labels,
                "node": nodes.get(record.node_name) if record.node_name else None,
                "phase": record.phase,
                "pod_ip": record.pod_ip,
                "restart_count": record.restart_count,
                "containers": record.containers,
                "started_at": record.started_at,
            }
            if pod is None:
                pod = Pod(cluster=cluster, namespace=record.namespace, name=record.name, **values)
                report.created_pods.append(f"{record.namespace}/{record.name}")
            elif any(getattr(pod, name) != value for name, value in values.items()):
                for name, value in values.items():
                    setattr(pod, name, value)
                report.updated_pods.append(f"{record.namespace}/{record.name}")
            else:
                report.unchanged_pods.append(f"{record.namespace}/{record.name}")
                continue
            try:
                pod.full_clean()
            except ValidationError as exc:
                raise ContainerRefused(
                    f"items[{record.index}] (Pod {record.namespace}/{record.name}): {_validation_messages(exc)}",
                    code="bad_document",
                ) from None
            pod.save()
        for pod in existing_pods.values():
            report.removed_pods.append(str(pod))
            pod.delete()
        for node in existing_nodes.values():
            report.removed_nodes.append(node.name)
            node.delete()
        versions = sorted({r.kubelet_version for r in parsed.nodes if r.kubelet_version})
        ContainerCluster.objects.filter(pk=cluster.pk).update(
            imported_at=timezone.now(), version=versions[-1] if versions else cluster.version
        )
        cluster.refresh_from_db()
    return report
