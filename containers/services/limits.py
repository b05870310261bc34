"""A container host's limits: the CPUs and memory its running containers may take, and the refusal when a start
would exceed them."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Sum

from containers.models import ContainerHost, ContainerSpec
from containers.services.refusals import ContainerRefused
from hybridcloud.core.units import format_bytes
from inventory.choices import PowerState


def format_cpus(value: Decimal | int | float) -> str:
    """2.00 → '2', 1.50 → '1.5'."""
    return f"{Decimal(str(value)).normalize():f}"


def container_host_free(container_host: ContainerHost) -> tuple[Decimal, int]:
    """(CPUs, memory bytes) the container host's limits leave for more running containers."""
    used = ContainerSpec.objects.filter(container_host=container_host, workload__power_state=PowerState.ON).aggregate(
        cpus=Sum("cpus"), memory=Sum("workload__memory_bytes")
    )
    return container_host.cpu_limit - (used["cpus"] or 0), container_host.memory_limit_bytes - (used["memory"] or 0)


def check_container_host_limits(container_host: ContainerHost, cpus: Decimal, memory_bytes: int, *, name: str) -> None:
    """Refuses (no_capacity) running `name` with `cpus` and `memory_bytes` when the container host's limits do not
    leave that much."""
    free_cpus, free_memory = container_host_free(container_host)
    if cpus > free_cpus or memory_bytes > free_memory:
        raise ContainerRefused(
            f"No capacity on container host {container_host.name} for {name}: it needs {format_cpus(cpus)} CPUs and "
            f"{format_bytes(memory_bytes)}; its limits ({format_cpus(container_host.cpu_limit)} CPUs, "
            f"{format_bytes(container_host.memory_limit_bytes)}) leave {format_cpus(max(free_cpus, 0))} CPUs and "
            f"{format_bytes(max(free_memory, 0))} free.",
            code="no_capacity",
        )
