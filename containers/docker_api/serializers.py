"""Docker Engine API JSON shapes for container-VMs, images and the container host, as plain functions."""

from __future__ import annotations

import hashlib
import ipaddress
import math
import platform
from datetime import UTC, datetime

from django.utils import timezone

from containers.choices import ContainerState
from containers.docker_api.streams import layers_of
from containers.models import ContainerHost, ContainerSpec, Image
from inventory.choices import PowerState

MIN_API_VERSION = "1.41"
MAX_API_VERSION = "1.50"
SERVER_VERSION = "28.2.2-hybridcloud"
OPERATING_SYSTEM = "HybridCloud container host"
ZERO_TIME = "0001-01-01T00:00:00Z"


def container_id(spec: ContainerSpec) -> str:
    """A stable 64-hex id per container-VM, derived from its workload and creation time (Docker ids are random;
    this one is reproducible, so nothing needs storing)."""
    return hashlib.sha256(
        f"hybridcloud/container-vm/{spec.workload_id}/{spec.created_at.isoformat()}".encode()
    ).hexdigest()


def image_id(image: Image) -> str:
    return image.digest


def rfc3339(value: datetime | None) -> str:
    if value is None:
        return ZERO_TIME
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def unix(value: datetime) -> int:
    return int(value.timestamp())


def human_duration(seconds: float) -> str:
    """Docker's units.HumanDuration ("Up 5 minutes", "Exited (0) 2 hours ago")."""
    seconds = int(seconds)
    minutes, hours = seconds // 60, seconds // 3600
    if seconds < 1:
        return "Less than a second"
    if seconds == 1:
        return "1 second"
    if seconds < 60:
        return f"{seconds} seconds"
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    if round(seconds / 3600) == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{hours // 24 // 365} years"


def status_text(spec: ContainerSpec, now: datetime | None = None) -> str:
    now = now or timezone.now()
    if spec.state == ContainerState.RUNNING:
        return f"Up {human_duration((now - (spec.started_at or spec.created_at)).total_seconds())}"
    if spec.state == ContainerState.EXITED:
        since = (now - (spec.finished_at or spec.created_at)).total_seconds()
        return f"Exited ({spec.exit_code or 0}) {human_duration(since)} ago"
    return "Created"


def docker_state(spec: ContainerSpec) -> str:
    """The workload's power state is the truth (a migration or the inventory can change it); the spec's state
    says whether a stopped one was ever started."""
    if spec.workload.power_state == PowerState.ON:
        return ContainerState.RUNNING
    return ContainerState.EXITED if spec.state == ContainerState.RUNNING else spec.state


def _ports(spec: ContainerSpec) -> list[dict]:
    return [
        {"IP": "0.0.0.0", "PrivatePort": p.container_port, "PublicPort": p.host_port, "Type": p.protocol}  # noqa: S104
        for p in spec.published_ports.all()
    ]


def _port_bindings(spec: ContainerSpec) -> dict:
    bindings: dict[str, list[dict]] = {}
    for p in spec.published_ports.all():
        bindings.setdefault(f"{p.container_port}/{p.protocol}", []).append({"HostIp": "", "HostPort": str(p.host_port)})
    return bindings


def _network(spec: ContainerSpec) -> dict:
    segment = spec.workload.segment
    network = ipaddress.ip_network(segment.cidr, strict=False)
    return {
        "NetworkID": hashlib.sha256(f"hybridcloud/segment/{segment.pk}".encode()).hexdigest(),
        "EndpointID": hashlib.sha256(f"hybridcloud/endpoint/{spec.workload_id}".encode()).hexdigest(),
        "Gateway": segment.gateway,
        "IPAddress": spec.workload.ip_address,
        "IPPrefixLen": network.prefixlen,
        "MacAddress": "02:42:" + ":".join(f"{int(b):02x}" for b in str(spec.workload.ip_address).split(".")),
    }


def _command(spec: ContainerSpec) -> str:
    return " ".join(spec.command)


def container_summary(spec: ContainerSpec, now: datetime | None = None) -> dict:
    """An item of GET /containers/json (docker ps)."""
    state = docker_state(spec)
    spec.state = state
    return {
        "Id": container_id(spec),
        "Names": [f"/{spec.workload.name}"],
        "Image": spec.image.reference,
        "ImageID": image_id(spec.image),
        "Command": _command(spec),
        "Created": unix(spec.created_at),
        "Ports": _ports(spec),
        "Labels": {
            "hybridcloud.host": spec.workload.host.name,
            "hybridcloud.site": spec.workload.host.cluster.site.name,
        },
        "State": state,
        "Status": status_text(spec, now),
        "HostConfig": {"NetworkMode": spec.workload.segment.name},
        "NetworkSettings": {"Networks": {spec.workload.segment.name: _network(spec)}},
        "Mounts": [],
    }


def _state(spec: ContainerSpec, state: str, ident: str) -> dict:
    running = state == ContainerState.RUNNING
    return {
        "Status": state,
        "Running": running,
        "Paused": False,
        "Restarting": False,
        "OOMKilled": False,
        "Dead": False,
        "Pid": int(ident[:6], 16) % 32768 + 1 if running else 0,
        "ExitCode": spec.exit_code or 0,
        "Error": "",
        "StartedAt": rfc3339(spec.started_at),
        "FinishedAt": rfc3339(spec.finished_at),
    }


def _host_config(spec: ContainerSpec) -> dict:
    return {
        "NanoCpus": int(spec.cpus * 1_000_000_000),
        "Memory": spec.workload.memory_bytes,
        "PortBindings": _port_bindings(spec),
        "RestartPolicy": {"Name": spec.restart_policy, "MaximumRetryCount": 0},
        "NetworkMode": spec.workload.segment.name,
        "AutoRemove": False,
    }


def _config(spec: ContainerSpec, ident: str) -> dict:
    return {
        "Hostname": ident[:12],
        "Image": spec.image.reference,
        "Cmd": spec.command or None,
        "Env": [f"{k}={v}" for k, v in spec.environment.items()],
        "ExposedPorts": {key: {} for key in _port_bindings(spec)},
        "Tty": False,
        "OpenStdin": False,
        "AttachStdout": False,
        "AttachStderr": False,
        "Labels": {},
    }


def _where(spec: ContainerSpec, request) -> dict:
    """HybridCloud's own section: the container-VM as a workload, and where it runs."""
    workload = spec.workload
    url = spec.get_absolute_url()
    return {
        "WorkloadId": workload.pk,
        "Kind": workload.kind,
        "Host": workload.host.name,
        "Site": workload.host.cluster.site.name,
        "Datastore": workload.datastore.name if workload.datastore_id else None,
        "VCPUs": workload.vcpus,
        "URL": request.build_absolute_uri(url) if request is not None else url,
    }


def container_inspect(spec: ContainerSpec, request=None) -> dict:
    """GET /containers/<id>/json (docker inspect): the container, and where its VM runs."""
    network = _network(spec)
    ident = container_id(spec)
    return {
        "Id": ident,
        "Created": rfc3339(spec.created_at),
        "Path": spec.command[0] if spec.command else "",
        "Args": spec.command[1:],
        "State": _state(spec, docker_state(spec), ident),
        "Image": image_id(spec.image),
        "Name": f"/{spec.workload.name}",
        "RestartCount": 0,
        "Driver": "hybridcloud-vm",
        "Platform": "linux",
        "HostConfig": _host_config(spec),
        "Config": _config(spec, ident),
        "NetworkSettings": {
            **{k: network[k] for k in ("Gateway", "IPAddress", "IPPrefixLen", "MacAddress")},
            "Ports": _port_bindings(spec),
            "Networks": {spec.workload.segment.name: network},
        },
        "Mounts": [],
        "HybridCloud": _where(spec, request),
    }


def image_summary(image: Image) -> dict:
    """An item of GET /images/json (docker images)."""
    return {
        "Id": image_id(image),
        "ParentId": "",
        "RepoTags": [image.reference],
        "RepoDigests": [f"{image.repository}@{image.digest}"],
        "Created": unix(image.pulled_at),
        "Size": image.size_bytes,
        "SharedSize": -1,
        "Labels": {},
        "Containers": -1,
    }


def image_inspect(image: Image) -> dict:
    """GET /images/<name>/json (docker image inspect)."""
    return {
        "Id": image_id(image),
        "RepoTags": [image.reference],
        "RepoDigests": [f"{image.repository}@{image.digest}"],
        "Parent": "",
        "Comment": "",
        "Created": rfc3339(image.pulled_at),
        "Author": "",
        "Architecture": "amd64",
        "Os": "linux",
        "Size": image.size_bytes,
        "Config": {"Cmd": None, "Env": [], "ExposedPorts": {}, "Labels": {}},
        "RootFS": {
            "Type": "layers",
            "Layers": [
                f"sha256:{hashlib.sha256(layer.id.encode()).hexdigest()}"
                for layer in layers_of(image.digest, image.size_bytes)
            ],
        },
        "Metadata": {"LastTagTime": rfc3339(image.pulled_at)},
    }


def version(api_version: str) -> dict:
    """GET /version."""
    return {
        "Platform": {"Name": "HybridCloud"},
        "Components": [
            {
                "Name": "Engine",
                "Version": SERVER_VERSION,
                "Details": {
                    "ApiVersion": api_version,
                    "MinAPIVersion": MIN_API_VERSION,
                    "Os": "linux",
                    "Arch": "amd64",
                },
            }
        ],
        "Version": SERVER_VERSION,
        "ApiVersion": MAX_API_VERSION,
        "MinAPIVersion": MIN_API_VERSION,
        "GitCommit": "hybridcloud",
        "GoVersion": "n/a (Django)",
        "Os": "linux",
        "Arch": "amd64",
        "KernelVersion": platform.release(),
        "BuildTime": ZERO_TIME,
    }


def info(container_host: ContainerHost, *, counts: dict[str, int], images: int) -> dict:
    """GET /info (docker info): the container host's capacity and its container counts."""
    return {
        "ID": hashlib.sha256(f"hybridcloud/container-host/{container_host.pk}".encode()).hexdigest()[:36],
        "Name": container_host.name,
        "Containers": sum(counts.values()),
        "ContainersRunning": counts.get(ContainerState.RUNNING, 0),
        "ContainersPaused": 0,
        "ContainersStopped": counts.get(ContainerState.CREATED, 0) + counts.get(ContainerState.EXITED, 0),
        "Images": images,
        "NCPU": math.ceil(container_host.cpu_limit),
        "MemTotal": container_host.memory_limit_bytes,
        "ServerVersion": SERVER_VERSION,
        "OperatingSystem": OPERATING_SYSTEM,
        "OSType": "linux",
        "OSVersion": "",
        "Architecture": "x86_64",
        "KernelVersion": platform.release(),
        "Driver": "hybridcloud-vm",
        "DriverStatus": [["Cluster", container_host.cluster.name], ["Segment", container_host.segment.name]],
        "LoggingDriver": "hybridcloud-events",
        "CgroupDriver": "none",
        "CgroupVersion": "2",
        "DefaultRuntime": "container-vm",
        "Runtimes": {"container-vm": {"path": "hybridcloud"}},
        "Plugins": {"Volume": [], "Network": ["segment"], "Authorization": None, "Log": ["hybridcloud-events"]},
        "MemoryLimit": True,
        "SwapLimit": False,
        "CpuCfsPeriod": True,
        "CpuCfsQuota": True,
        "IPv4Forwarding": True,
        "Debug": False,
        "NFd": 0,
        "NGoroutines": 0,
        "SystemTime": rfc3339(timezone.now()),
        "IndexServerAddress": "https://index.docker.io/v1/",
        "RegistryConfig": {"IndexConfigs": {}, "InsecureRegistryCIDRs": [], "Mirrors": []},
        "Labels": [
            f"hybridcloud.cluster={container_host.cluster.name}",
            f"hybridcloud.site={container_host.cluster.site.name}",
            f"hybridcloud.segment={container_host.segment.name}",
        ],
        "ExperimentalBuild": False,
        "DockerRootDir": f"/hybridcloud/{container_host.name}",
        "HttpProxy": "",
        "HttpsProxy": "",
        "NoProxy": "",
        "LiveRestoreEnabled": True,
        "Isolation": "",
        "InitBinary": "",
        "SecurityOptions": [],
        "Swarm": {"LocalNodeState": "inactive", "ControlAvailable": False, "NodeID": "", "NodeAddr": ""},
        "Warnings": [],
    }
