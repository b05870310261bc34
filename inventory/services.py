"""Writes to the inventory: power actions on workloads, host states, and the rules that span many-to-many links."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from hybridcloud.core.units import format_bytes
from inventory.choices import HostState, PowerState
from inventory.models import Host, Site, Workload
from inventory.selectors import host_usage


@dataclass
class PowerOnResult:
    powered_on: list[Workload] = field(default_factory=list)
    already_on: int = 0
    refused: list[str] = field(default_factory=list)  # one sentence per workload that did not fit


def validate_datastore_hosts(site: Site | None, hosts: Iterable[Host]) -> None:
    """A datastore is seen only by hosts on its own site."""
    if site is None:
        return
    strangers = sorted(host.name for host in hosts if host.cluster.site_id != site.pk)
    if strangers:
        raise ValidationError(
            {"hosts": f"Hosts {', '.join(strangers)} are not on {site}; a datastore is seen only by hosts on its site."}
        )


@transaction.atomic
def workloads_power_on(*, workloads: QuerySet[Workload]) -> PowerOnResult:
    """Powers on the given workloads that fit on their host (memory is never overcommitted, vCPUs up to the
    host's limit); the others stay as they are and are reported."""
    result = PowerOnResult()
    candidates = list(workloads.select_related("host").exclude(power_state=PowerState.ON).order_by("host_id", "name"))
    result.already_on = workloads.filter(power_state=PowerState.ON).count()
    usage = {pk: [u.memory_bytes, u.vcpus] for pk, u in host_usage({w.host_id for w in candidates}).items()}
    for workload in candidates:
        host = workload.host
        used = usage.setdefault(host.pk, [0, 0])
        if host.state == HostState.DOWN:
            result.refused.append(f"{workload.name}: host {host} is down.")
        elif used[0] + workload.memory_bytes > host.memory_bytes:
            free = format_bytes(max(host.memory_bytes - used[0], 0))
            result.refused.append(
                f"{workload.name}: host {host} has {free} free, it needs {format_bytes(workload.memory_bytes)}."
            )
        elif used[1] + workload.vcpus > host.vcpu_capacity:
            result.refused.append(f"{workload.name}: host {host} would exceed its {host.vcpu_capacity} vCPU limit.")
        else:
            used[0] += workload.memory_bytes
            used[1] += workload.vcpus
            result.powered_on.append(workload)
    Workload.objects.filter(pk__in=[w.pk for w in result.powered_on]).exclude(power_state=PowerState.ON).update(
        power_state=PowerState.ON, updated_at=timezone.now()
    )
    return result


def workloads_power_off(*, workloads: QuerySet[Workload]) -> int:
    """Powers off the given workloads; returns how many changed."""
    return workloads.exclude(power_state=PowerState.OFF).update(power_state=PowerState.OFF, updated_at=timezone.now())


def hosts_set_state(*, hosts: QuerySet[Host], state: str) -> int:
    """Puts hosts in maintenance, back to connected, or marks them down; returns how many changed."""
    if state not in HostState.values:
        raise ValidationError({"state": f"'{state}' is not a host state."})
    return hosts.filter(~Q(state=state)).update(state=state)
