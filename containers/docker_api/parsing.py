"""Docker's syntax for a container request, parsed in one place: image references, `-p HOST:CONTAINER/PROTO`,
`-e NAME=value`, a command line, `--cpus 0.5`, `--memory 512m` and container names.

The pages, the REST API and the Docker Engine API all take these forms (the services call these parsers, so a rule is
written once); a value that does not parse is refused with `ContainerRefused(code="bad_value")` (or "bad_name"), in
Docker's own words where Docker has them.
"""

from __future__ import annotations

import re
import shlex
from decimal import Decimal, InvalidOperation

from containers.choices import Protocol
from containers.services.refusals import ContainerRefused
from hybridcloud.core.units import GIB, KIB, MIB

DEFAULT_MEMORY_BYTES = 512 * MIB
MIN_MEMORY_BYTES = 6 * MIB  # Docker refuses less: "Minimum memory limit allowed is 6MB".
NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
REPOSITORY_RE = re.compile(
    r"^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
PORT_SPEC_RE = re.compile(r"^(?:(?P<host>\d+):)?(?P<container>\d+)(?:/(?P<protocol>[a-z]+))?$")
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
MEMORY_RE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([bkmg]?)i?b?\s*")
MEMORY_FACTORS = {"": 1, "b": 1, "k": KIB, "m": MIB, "g": GIB}


def check_name(name: str) -> str:
    """A container name as Docker accepts it (letters, digits and _ . -, at least 2 characters), or a refusal."""
    if not NAME_RE.match(name) or len(name) > 128:
        raise ContainerRefused(
            f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-]+ are allowed (at least 2 characters).",
            code="bad_name",
        )
    return name


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


def check_image_name(repository: str, tag: str) -> None:
    """Refuses a repository or tag Docker would call an invalid reference format."""
    if not REPOSITORY_RE.match(repository) or len(repository) > 255:
        raise ContainerRefused(
            f"invalid reference format: repository name '{repository}' is not valid", code="bad_value"
        )
    if not TAG_RE.match(tag):
        raise ContainerRefused(f"invalid reference format: tag '{tag}' is not valid", code="bad_value")


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
        if not ENV_NAME_RE.match(str(name)):
            raise ContainerRefused(f"Invalid environment variable name '{name}'.", code="bad_value")
        result[str(name)] = "" if value is None else str(value)
    return result


def parse_command(command: str | list | None) -> list[str]:
    """A command line as typed (split as a shell would) or a list of arguments."""
    if not command:
        return []
    if isinstance(command, str):
        try:
            return shlex.split(command)
        except ValueError as exc:
            raise ContainerRefused(f"Invalid command: {exc}.", code="bad_value") from None
    return [str(arg) for arg in command]


def parse_cpus(cpus: float | str | Decimal | None) -> Decimal:
    """`--cpus`: a positive number of CPUs, to the hundredth (1 when not given)."""
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
    """`--memory`: bytes, or Docker's '512m' / '2g' / '1024k' forms (512 MiB when not given)."""
    if memory in (None, "", 0):
        return DEFAULT_MEMORY_BYTES
    if isinstance(memory, str):
        match = MEMORY_RE.fullmatch(memory.lower())
        if not match:
            raise ContainerRefused(f"Invalid memory size '{memory}': write e.g. 512m or 2g.", code="bad_value")
        value = int(float(match[1]) * MEMORY_FACTORS[match[2]])
    else:
        value = int(memory)
    if value < MIN_MEMORY_BYTES:
        raise ContainerRefused("Minimum memory limit allowed is 6MB.", code="bad_value")
    return value
