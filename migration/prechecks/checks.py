"""The pre-checks of one move, each a named check run over the move's shared facts (`MOVE_CHECKS`), and
`precheck_migration`, which resolves the destination, runs them and, when nothing blocks the move, predicts it."""

from __future__ import annotations

from hybridcloud.core.units import format_bytes
from inventory.choices import CPU_OVERCOMMIT_RATIO, HostState
from inventory.links import MIN_MBIT_PER_MIGRATION
from inventory.models import Cluster, Host, Site, Workload
from inventory.usage import takes_room
from migration.choices import MigrationKind, MigrationPolicy, MigrationState
from migration.placement import place_workload, placement_rule_checks
from migration.prechecks.context import PrecheckContext, link_key_for
from migration.prechecks.move import Move, PrecheckResult
from migration.prechecks.prediction import predict_move

#: Long-distance live migration tolerates at most this round-trip time.
MAX_RTT_MS = 150.0


def host_load(host: Host, *, exclude_workload: Workload | None = None, context: PrecheckContext | None = None) -> dict:
    """Memory and vCPUs taken on `host` (inventory's one accounting: running workloads plus live moves on their way
    to it), less what `exclude_workload` itself takes there."""
    context = context or PrecheckContext()
    usage = context.usage(host.id)
    if exclude_workload is not None:
        usage = usage.without(exclude_workload)
    return {"memory": usage.memory_bytes, "vcpus": usage.vcpus}


def _cpu_mismatch(src_cluster: Cluster, dst_cluster: Cluster) -> str | None:
    """Same CPU vendor and a baseline at least as new (a running guest keeps the CPU features it saw at boot): None,
    else what differs ("vendor" or "baseline")."""
    if src_cluster.cpu_vendor != dst_cluster.cpu_vendor:
        return "vendor"
    if dst_cluster.baseline_level < src_cluster.baseline_level:
        return "baseline"
    return None


def _cpu_errors(workload: Workload, host: Host, context: PrecheckContext) -> list[str]:
    """`_cpu_mismatch` of the clusters (asked once per pair of clusters), in words only for a move it refuses."""
    src_cluster, dst_cluster = context.place(workload.host)[0], context.place(host)[0]
    mismatch = None if src_cluster is dst_cluster else context.cpu_mismatch(src_cluster, dst_cluster, _cpu_mismatch)
    if mismatch == "vendor":
        return [
            f"Host {host.name} has {dst_cluster.get_cpu_vendor_display()} CPUs but {workload.name} runs on "
            f"{src_cluster.get_cpu_vendor_display()} ({src_cluster.get_cpu_baseline_display()}): a running guest "
            f"cannot move between CPU vendors."
        ]
    if mismatch == "baseline":
        return [
            f"Cluster {dst_cluster.name}'s CPU baseline {dst_cluster.get_cpu_baseline_display()} is older than "
            f"{src_cluster.name}'s {src_cluster.get_cpu_baseline_display()}: the guest uses CPU features host "
            f"{host.name} lacks."
        ]
    return []


def _capacity_errors(workload: Workload, host: Host, load: dict, *, live: bool) -> list[str]:
    """Memory is never overcommitted, vCPUs up to CPU_OVERCOMMIT_RATIO x cores."""
    errors = []
    free_memory = host.memory_bytes - load["memory"]
    if live and workload.memory_bytes > free_memory:
        errors.append(
            f"Host {host.name} has {format_bytes(max(free_memory, 0))} of memory free (of "
            f"{format_bytes(host.memory_bytes)}), counting migrations on their way to it; {workload.name} needs "
            f"{format_bytes(workload.memory_bytes)}."
        )
    if workload.vcpus > host.cores:
        errors.append(f"{workload.name} has {workload.vcpus} vCPUs, more than host {host.name}'s {host.cores} cores.")
    elif live and load["vcpus"] + workload.vcpus > host.vcpu_capacity:
        errors.append(
            f"Host {host.name} would run {load['vcpus'] + workload.vcpus} vCPUs, more than its limit of "
            f"{host.vcpu_capacity} ({CPU_OVERCOMMIT_RATIO}× its {host.cores} cores)."
        )
    return errors


def host_checks(
    workload: Workload, host: Host, *, exclude_migration: int | None = None, context: PrecheckContext | None = None
) -> tuple[list[str], dict]:
    """The checks that depend on the destination host alone (used by placement to rank candidates). The migration
    being re-checked (`exclude_migration`) is the workload's own, whose reservation `host_load` already leaves out."""
    context = context or PrecheckContext()
    errors: list[str] = []
    live = takes_room(workload.power_state)
    # Not onto the host it already runs on.
    if host.id == workload.host_id:
        errors.append(f"{workload.name} already runs on host {host.name}; choose another host.")
    # The destination takes new workloads; a layer above may refuse it too (a host being emptied takes nothing new,
    # or its evacuation would never end).
    if host.state != HostState.CONNECTED:
        errors.append(f"Host {host.name} is {host.get_state_display().lower()}: it takes no new workloads.")
    else:
        errors.extend(context.host_refusals(host))
    if live:
        errors.extend(_cpu_errors(workload, host, context))
    load = host_load(host, exclude_workload=workload, context=context)
    errors.extend(_capacity_errors(workload, host, load, live=live))
    free_memory = host.memory_bytes - load["memory"]
    return errors, {"free_memory_after": free_memory - (workload.memory_bytes if live else 0)}


# -- the named checks of one move -------------------------------------------------------------------------------------


def check_destination_host(move: Move) -> None:
    """The destination host takes the workload (`host_checks`)."""
    errors, _ = host_checks(
        move.workload, move.destination, exclude_migration=move.exclude_migration, context=move.context
    )
    move.result.errors.extend(errors)


def check_placement_rules(move: Move) -> None:
    """A placement rule broken is an error, a rule at risk a warning (a workload that no rule names breaks none and
    risks none: most of a planner's moves ask nothing more)."""
    if not move.context.rule_book().rules_of(move.workload.id):
        return
    errors, warnings = placement_rule_checks(workload=move.workload, host=move.destination, context=move.context)
    move.result.errors.extend(errors)
    move.result.warnings.extend(warnings)


def check_power_state(move: Move) -> None:
    """Powered off: nothing to copy live, the move is cold."""
    if not move.live:
        workload = move.workload
        move.result.kind = MigrationKind.COLD
        move.result.warnings.append(
            f"{workload.name} is {workload.get_power_state_display().lower()}: it will be moved cold (its disk and "
            f"configuration), with no live pre-copy, and stays off at the destination."
        )


def check_segment(move: Move) -> None:
    """The network segment must be present at the destination, else the IP changes (an error unless the operator
    accepts re-addressing onto the site's first segment)."""
    workload, result, site = move.workload, move.result, move.destination_site
    if site.id in move.context.segment_sites(workload.segment_id):
        return
    candidate = move.context.first_segment(site)
    if candidate is None:
        result.errors.append(
            f"{site.name} has no network segment at all: {workload.name} could not be addressed there."
        )
    elif not move.accept_readdressing:
        result.errors.append(
            f"Segment {workload.segment.name} is not present on {site.name}: {workload.name}'s IP "
            f"{workload.ip_address} would change. Accept re-addressing to move it onto {candidate.name} "
            f"({candidate.cidr}) with a new address."
        )
    else:
        result.destination_segment = candidate
        result.warnings.append(
            f"Segment {workload.segment.name} is not present on {site.name}: {workload.name} will leave "
            f"{workload.ip_address} and get a new address on {candidate.name} ({candidate.cidr}); clients must "
            f"be told."
        )


def check_storage(move: Move) -> None:
    """The datastore must be visible from the destination, else the disk moves too (onto the datastore the host
    sees with the most room, which must hold it)."""
    workload, result, host = move.workload, move.result, move.destination
    if host.id in move.context.datastore_hosts(workload.datastore_id):
        result.destination_datastore = workload.datastore
        return
    best = move.context.best_datastore(host)
    if best is None:
        result.errors.append(
            f"Host {host.name} sees no datastore, and it cannot see {workload.datastore.name}: "
            f"there is nowhere to put {workload.name}'s disk."
        )
    elif best.free_bytes < workload.disk_bytes:
        result.errors.append(
            f"Host {host.name} cannot see datastore {workload.datastore.name}, and the datastore it "
            f"sees with the most room, {best.name}, has {format_bytes(best.free_bytes)} free; {workload.name}'s disk "
            f"needs {format_bytes(workload.disk_bytes)}."
        )
    else:
        result.destination_datastore = best
        move.disk_bytes = workload.disk_bytes
        if move.live:
            result.kind = MigrationKind.LIVE_STORAGE


def check_link(move: Move) -> None:
    """Between sites: a link, its RTT, and at least one admission slot (`migration_slots`: one move per
    `MIN_MBIT_PER_MIGRATION`, compression does not count; beyond its slots moves wait in the queue)."""
    result, src_site, dst_site = move.result, move.source_site, move.destination_site
    between_sites = move.between_sites
    link = move.context.link(src_site, dst_site) if between_sites else None
    if between_sites and link is None:
        result.errors.append(
            f"There is no cloud link between {src_site.name} and {dst_site.name}: a move between sites needs one."
        )
    if link is not None and move.live and link.rtt_ms > MAX_RTT_MS:
        result.errors.append(
            f"The link {src_site.name} ↔ {dst_site.name} has a round-trip time of {link.rtt_ms:g} ms, above "
            f"the {MAX_RTT_MS:g} ms that long-distance live migration tolerates."
        )
    if link is not None and link.migration_slots < 1:
        result.errors.append(
            f"The link {src_site.name} ↔ {dst_site.name} has {link.bandwidth_mbit:,} Mbit/s, less than the "
            f"{MIN_MBIT_PER_MIGRATION:g} Mbit/s a live migration needs (WAN optimization does not count): "
            f"not even one move fits on it."
        )
    move.link = result.cloud_link = link
    result.link_key = link_key_for(source_host=move.source, destination_host=move.destination, cloud_link=link)


#: The checks of a move whose destination host is known, in the order their sentences are shown.
MOVE_CHECKS = (
    check_destination_host,
    check_placement_rules,
    check_power_state,
    check_segment,
    check_storage,
    check_link,
)


# -- the entry point -------------------------------------------------------------------------------------------------


def _already_moving(workload: Workload, context: PrecheckContext, exclude_migration: int | None) -> list[str]:
    """No other active migration of the same workload."""
    other = next(iter(context.active_of(workload.id, exclude_migration)), None)
    if other is None:
        return []
    return [
        f"{workload.name} is already being migrated (migration #{other.pk}, "
        f"{MigrationState(other.state).label.lower()}); wait for it to end or cancel it."
    ]


def _destination(
    workload: Workload,
    result: PrecheckResult,
    *,
    host: Host | None,
    site: Site | None,
    exclude_migration: int | None,
    context: PrecheckContext,
) -> Host | None:
    """The destination host: the one asked for, or placement's choice on the site asked for (its reason kept);
    None, with the error, when there is none."""
    if host is None:
        if site is None:
            result.errors.append("Choose a destination: a host, or a site to let placement choose the host.")
            return None
        placement = place_workload(
            workload=workload, site=site, host_checks=host_checks, context=context, exclude_migration=exclude_migration
        )
        if placement.host is None:
            result.errors.append(placement.reason)
            return None
        host = placement.host
        result.placement_reason = placement.reason
    result.destination_host = context.host(host.id)
    return result.destination_host


def precheck_migration(
    *,
    workload: Workload,
    destination_host: Host | None = None,
    destination_site: Site | None = None,
    accept_readdressing: bool = False,
    max_downtime_s: float = 0.3,
    policy: str = MigrationPolicy.THROTTLE,
    exclude_migration: int | None = None,
    context: PrecheckContext | None = None,
    predict: bool = True,
) -> PrecheckResult:
    """Check moving `workload` to `destination_host`, or to the best host of `destination_site` (placement).

    `exclude_migration` is the migration being (re)checked itself, when a queued one is admitted. `context` shares
    what the checks read across many calls made while nothing is written (see `PrecheckContext`). `predict=False`
    returns the checks without the engine's prediction, for a caller that plans the moves itself (an assessment's
    waves over thousands of workloads).
    """
    context = context or PrecheckContext()
    result = PrecheckResult()
    workload = context.workload(workload.id)
    result.errors.extend(_already_moving(workload, context, exclude_migration))
    host = _destination(
        workload, result, host=destination_host, site=destination_site, exclude_migration=exclude_migration,
        context=context,
    )  # fmt: skip
    if host is None:
        return result
    move = Move(
        workload=workload, source=workload.host, destination=host, context=context, result=result,
        accept_readdressing=accept_readdressing, exclude_migration=exclude_migration,
    )  # fmt: skip
    for check in MOVE_CHECKS:
        check(move)
    if not result.errors and predict:
        predict_move(move, max_downtime_s=max_downtime_s, policy=policy)
    return result
