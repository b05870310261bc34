"""Placement: the best host of a site for a workload, and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from inventory.choices import HostState
from inventory.models import Host, Site, Workload

if TYPE_CHECKING:
    from migration.prechecks import PrecheckContext

GIB = 2**30


@dataclass
class Placement:
    """`host` is None when no host of the site can take the workload; `reason` says why, either way."""

    host: Host | None
    reason: str


def place_workload(
    *, workload: Workload, site: Site, exclude_migration: int | None = None, context: PrecheckContext | None = None
) -> Placement:
    """The host of `site` that passes the host pre-checks and keeps the most memory free after the move,
    preferring the source's CPU baseline (no feature difference at all). Hosts in maintenance, down or being
    evacuated are refused by those checks. `context` shares what the checks read (see `PrecheckContext`)."""
    from migration.prechecks import PrecheckContext, host_checks

    context = context or PrecheckContext()

    source_cluster = workload.host.cluster
    candidates = [host for host in context.site_hosts(site) if host.pk != workload.host_id]
    passing: list[tuple[Host, float, bool]] = []
    refused: list[str] = []
    for host in candidates:
        errors, facts = host_checks(workload, host, exclude_migration=exclude_migration, context=context)
        if errors:
            refused.append(errors[0])
            continue
        same_baseline = host.cluster.cpu_baseline == source_cluster.cpu_baseline
        passing.append((host, facts["free_memory_after"], same_baseline))
    if not passing:
        if not refused:
            return Placement(None, f"{site.name} has no host that {workload.name} could move to.")
        return Placement(None, f"No host on {site.name} can take {workload.name}: " + " ".join(refused[:5]))
    passing.sort(key=lambda item: (not item[2], -item[1], item[0].name))
    host, free_after, same = passing[0]
    others = len(passing) - 1
    reason = (
        f"Placed on {host.name}: of {len(passing)} host{'s' if len(passing) != 1 else ''} on {site.name} that pass "
        f"the pre-checks, it keeps the most memory free after the move ({free_after / GIB:.1f} GiB of "
        f"{host.memory_bytes / GIB:.1f} GiB)"
    )
    if same:
        reason += f" and has the same CPU baseline as the source ({host.cluster.get_cpu_baseline_display()})"
    elif host.state == HostState.CONNECTED:
        reason += f"; its CPU baseline ({host.cluster.get_cpu_baseline_display()}) is newer than the source's"
    reason += "." if others or not refused else f"; {len(refused)} other host(s) were refused."
    return Placement(host, reason)
