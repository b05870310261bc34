"""The drill model: how long a plan's recovery takes, computed from plain inputs (no database, no Django).

`compute_drill(inputs)` turns a snapshot of the plan, the recovery site's free capacity and the link
between the sites into a timeline of steps and one result per protected workload. The rules:

- **Steps**: prepare the isolated test network (10 s + 2 s per segment copied into the bubble), bring up
  each priority group in turn (group N+1 starts when group N is up), verify (5 s + 1 s per replica
  answering in the bubble), clean up (5 s + 0.5 s per replica). The plan's measured RTO is the time from
  the drill's start until the last workload of the last group is up; verify and clean-up are drill
  overhead and do not count.
- **A failed group does not stop the drill**: later groups still come up, so one drill finds every
  problem (the report says which group failed and why); the drill itself fails and misses its target.
- **Network**: a replica keeps its IP in the bubble's copy of its segment when the segment is stretched
  to the recovery site; otherwise it needs a re-addressed IP on a recovery segment, or it fails.
- **Capacity**: connected recovery hosts, minus what production already uses there, minus the replicas
  already up. Within a group, the largest replicas are placed first, each on the host that leaves the
  least memory free (best fit). A replica that fits nowhere fails with the numbers.
- **Placement rules** (`migration.engine.placement_rules`): a replica goes only on a host that keeps every rule
  it is a member of, judged against the replicas already placed and the members not in the plan where they run;
  when a rule leaves no host, the replica fails with the rule's sentence.
- **Replication lag**: the age of the replica's last copy, stored (`last_replicated_at`) or modelled
  deterministically as `rpo × (0.25 .. 1.15)` from a seed (asynchronous replication usually keeps within
  its RPO, sometimes slips). RPO met when lag ≤ RPO; the data-loss window of a real disaster is the lag.
- **Catch-up transfer**: before a replica boots, the changes written since its last copy that are still
  in flight are sent over the link: `min(dirty rate × lag, working set)` bytes (writes coalesce within
  the writable working set, the same rule the engine uses for memory). All transfers of a group share the
  link through `plan_wave` (fair sharing, WAN compression; replication streams are open and tuned, so no
  TCP ramp, window or loss limit), at most `transfer_concurrency` at once.
- **Boot**: 30 s + 5 s per GiB of memory on the recovery host, after its transfer.
- **A missing link** fails every bring-up step ("no link between X and Y"): without a link nothing was
  replicated.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from hybridcloud.core.units import GIB, format_bytes
from migration.engine import LinkSpec, PrecopyParams, plan_wave
from migration.engine.placement_rules import Rule, Spot, rules_broken

BOOT_BASE_S = 30.0
BOOT_PER_GIB_S = 5.0
PREPARE_BASE_S = 10.0
PREPARE_PER_SEGMENT_S = 2.0
VERIFY_BASE_S = 5.0
VERIFY_PER_WORKLOAD_S = 1.0
CLEAN_BASE_S = 5.0
CLEAN_PER_WORKLOAD_S = 0.5
LAG_MIN_FRACTION = 0.25
LAG_MAX_FRACTION = 1.15


@dataclass(frozen=True)
class LinkInfo:
    bandwidth_bps: float
    rtt_s: float = 0.0
    compression_ratio: float = 1.0
    loss: float = 0.0


@dataclass
class HostCapacity:
    """A connected recovery host and what is free on it (updated as replicas are placed)."""

    name: str
    free_memory_bytes: int
    free_vcpus: int
    cores: int


@dataclass(frozen=True)
class WorkloadSpec:
    workload_id: int
    name: str
    memory_bytes: int
    vcpus: int
    working_set_bytes: int
    dirty_rate_bps: float
    rpo_s: int
    replication_lag_s: float
    segment_name: str
    segment_on_recovery_site: bool
    ip_address: str
    recovery_ip: str | None = None
    recovery_segment_name: str | None = None


@dataclass(frozen=True)
class GroupSpec:
    group_id: int | None
    name: str
    priority: int
    workloads: tuple[WorkloadSpec, ...]


@dataclass(frozen=True)
class DrillInputs:
    protected_site: str
    recovery_site: str
    test_network: str
    link: LinkInfo | None
    hosts: tuple[HostCapacity, ...]
    groups: tuple[GroupSpec, ...]
    transfer_concurrency: int = 8
    rules: tuple[Rule, ...] = ()  # the placement rules with a member in the plan
    rule_spots: dict[int, tuple[str, Spot]] = field(default_factory=dict)  # members outside the plan: where they run


@dataclass
class StepPlan:
    kind: str
    name: str
    state: str
    reason: str
    sim_start_s: float
    sim_duration_s: float
    group_id: int | None = None
    priority: int | None = None


@dataclass
class WorkloadOutcome:
    workload_id: int
    name: str
    group_id: int | None
    group_name: str
    priority: int
    state: str  # recovered | failed | skipped
    reason: str
    rpo_s: int
    replication_lag_s: float
    rpo_met: bool
    data_loss_window_s: float
    pending_bytes: float = 0.0
    transfer_s: float = 0.0
    boot_s: float = 0.0
    start_s: float | None = None
    up_at_s: float | None = None
    recovery_time_s: float | None = None
    recovered_on: str = ""
    test_ip: str | None = None


@dataclass
class DrillOutcome:
    steps: list[StepPlan] = field(default_factory=list)
    results: list[WorkloadOutcome] = field(default_factory=list)
    measured_rto_s: float | None = None

    @property
    def all_recovered(self) -> bool:
        return all(r.state == "recovered" for r in self.results)

    @property
    def failed_steps(self) -> list[StepPlan]:
        return [s for s in self.steps if s.state == "failed"]


def modelled_lag_s(rpo_s: float, seed: str) -> float:
    """The replica's age for a drill, deterministic in `seed`: between 0.25 and 1.15 times the RPO."""
    u = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big") / 2**64
    return rpo_s * (LAG_MIN_FRACTION + (LAG_MAX_FRACTION - LAG_MIN_FRACTION) * u)


def boot_time_s(memory_bytes: float) -> float:
    """Time to start a replica on the recovery site: 30 s plus 5 s per GiB of memory."""
    return BOOT_BASE_S + BOOT_PER_GIB_S * memory_bytes / GIB


def pending_bytes(spec: WorkloadSpec) -> float:
    """Changed data written since the last replicated copy: writes coalesce within the working set."""
    return float(min(spec.dirty_rate_bps * spec.replication_lag_s, spec.working_set_bytes))


def place_best_fit(spec: WorkloadSpec, hosts: tuple[HostCapacity, ...] | list[HostCapacity]) -> HostCapacity | None:
    """The host that fits the replica and leaves the least memory free, or None."""
    fitting = [
        h
        for h in hosts
        if h.free_memory_bytes >= spec.memory_bytes and h.free_vcpus >= spec.vcpus and h.cores >= spec.vcpus
    ]
    if not fitting:
        return None
    return min(fitting, key=lambda h: (h.free_memory_bytes - spec.memory_bytes, h.name))


def place_replica(
    spec: WorkloadSpec, hosts: list[HostCapacity], inputs: DrillInputs, spots: dict[int, tuple[str, Spot]]
) -> tuple[HostCapacity | None, str]:
    """The best-fit host among those that keep the placement rules, or None and why (the rule when a rule left no
    host, else the shortfall). `spots` is where the replicas placed so far run: the chosen host is added to it."""
    refusals: list[str] = []
    allowed = []
    for h in hosts:
        target = Spot(h.name, inputs.recovery_site)
        broken = rules_broken(inputs.rules, workload_id=spec.workload_id, workload_name=spec.name, target=target,
                              spots=spots)  # fmt: skip
        if broken:
            refusals.append(broken[0])
        else:
            allowed.append(h)
    host = place_best_fit(spec, allowed)
    if host is None:
        if refusals and place_best_fit(spec, hosts) is not None:
            return None, " ".join(refusals[:3])
        return None, _shortfall_reason(spec, tuple(hosts), inputs.recovery_site)
    spots[spec.workload_id] = (spec.name, Spot(host.name, inputs.recovery_site))
    return host, " ".join(refusals[:3])


def _shortfall_reason(spec: WorkloadSpec, hosts: tuple[HostCapacity, ...], site: str) -> str:
    if not hosts:
        return f"No connected host on {site} to start it on."
    best_memory = max(h.free_memory_bytes for h in hosts)
    best_vcpus = max(h.free_vcpus for h in hosts)
    total_free = sum(h.free_memory_bytes for h in hosts)
    if best_memory < spec.memory_bytes:
        return (
            f"Needs {format_bytes(spec.memory_bytes)}, {format_bytes(max(best_memory, 0))} free on {site} "
            f"(largest on one host; {format_bytes(max(total_free, 0))} in all)."
        )
    return (
        f"Needs {format_bytes(spec.memory_bytes)} and {spec.vcpus} vCPUs together; no host on {site} has both free "
        f"(at most {max(best_vcpus, 0)} vCPUs free on one host)."
    )


def _network_reason(spec: WorkloadSpec, recovery_site: str) -> str | None:
    if spec.segment_on_recovery_site or spec.recovery_ip:
        return None
    return (
        f"Segment {spec.segment_name} is not stretched to {recovery_site} and no re-addressed IP is set: "
        "the replica would have no network."
    )


def _outcome(spec: WorkloadSpec, group: GroupSpec, state: str, reason: str = "") -> WorkloadOutcome:
    return WorkloadOutcome(
        workload_id=spec.workload_id,
        name=spec.name,
        group_id=group.group_id,
        group_name=group.name,
        priority=group.priority,
        state=state,
        reason=reason,
        rpo_s=spec.rpo_s,
        replication_lag_s=spec.replication_lag_s,
        rpo_met=spec.replication_lag_s <= spec.rpo_s,
        data_loss_window_s=spec.replication_lag_s,
    )


def _bring_up_group(
    inputs: DrillInputs, group: GroupSpec, start_s: float, hosts: list[HostCapacity], spots: dict[int, tuple[str, Spot]]
) -> tuple[StepPlan, list[WorkloadOutcome]]:
    name = f"Bring up group {group.priority}: {group.name}"
    step = StepPlan("bring_up", name, "done", "", start_s, 0.0, group.group_id, group.priority)
    if not group.workloads:
        step.state, step.reason = "skipped", "No workloads in this group."
        return step, []
    if inputs.link is None:
        reason = f"No link between {inputs.protected_site} and {inputs.recovery_site}: nothing was replicated."
        step.state, step.reason = "failed", reason
        return step, [_outcome(spec, group, "failed", reason) for spec in group.workloads]

    outcomes, decided, placed = _place_group(inputs, group, hosts, spots)
    transfer_end = _transfer_ends(inputs, placed)
    group_end = start_s
    for spec, host in placed:
        outcome = _outcome(spec, group, "recovered", decided.get(spec.workload_id, ""))
        outcome.pending_bytes = pending_bytes(spec)
        outcome.transfer_s = transfer_end[spec.workload_id]
        outcome.boot_s = boot_time_s(spec.memory_bytes)
        outcome.start_s = start_s
        outcome.recovery_time_s = outcome.transfer_s + outcome.boot_s
        outcome.up_at_s = start_s + outcome.recovery_time_s
        outcome.recovered_on = host.name
        outcome.test_ip = spec.ip_address if spec.segment_on_recovery_site else spec.recovery_ip
        outcomes[spec.workload_id] = outcome
        group_end = max(group_end, outcome.up_at_s)

    results = [outcomes[spec.workload_id] for spec in group.workloads]
    failures = [r for r in results if r.state == "failed"]
    recovered = len(results) - len(failures)
    step.sim_duration_s = max(group_end - start_s, 1.0)
    if failures:
        step.state = "failed"
        step.reason = f"{len(failures)} of {len(results)} workloads did not come up: " + " ".join(
            f"{r.name}: {r.reason}" for r in failures
        )
    else:
        step.reason = f"{recovered} workloads up on {inputs.recovery_site} in {inputs.test_network}."
    return step, results


def _place_group(
    inputs: DrillInputs, group: GroupSpec, hosts: list[HostCapacity], spots: dict[int, tuple[str, Spot]]
) -> tuple[dict[int, WorkloadOutcome], dict[int, str], list[tuple[WorkloadSpec, HostCapacity]]]:
    """Place the group's replicas, largest first (best-fit decreasing packs the recovery hosts tighter than input
    order): the failed ones' outcomes, the rules that turned a host down per placed replica, and the placements."""
    outcomes: dict[int, WorkloadOutcome] = {}
    decided: dict[int, str] = {}
    placed: list[tuple[WorkloadSpec, HostCapacity]] = []
    for spec in sorted(group.workloads, key=lambda s: (-s.memory_bytes, -s.vcpus, s.name)):
        network_problem = _network_reason(spec, inputs.recovery_site)
        if network_problem:
            outcomes[spec.workload_id] = _outcome(spec, group, "failed", network_problem)
            continue
        host, rule_reason = place_replica(spec, hosts, inputs, spots)
        if host is None:
            outcomes[spec.workload_id] = _outcome(spec, group, "failed", rule_reason)
            continue
        decided[spec.workload_id] = rule_reason
        host.free_memory_bytes -= spec.memory_bytes
        host.free_vcpus -= spec.vcpus
        placed.append((spec, host))
    return outcomes, decided, placed


def _transfer_ends(inputs: DrillInputs, placed: list[tuple[WorkloadSpec, HostCapacity]]) -> dict[int, float]:
    """When each placed replica's catch-up transfer ends (seconds from the group's start)."""
    # The catch-up transfers of the group share the link (engine: fair sharing, compression). Replication runs
    # over connections that are already open with tuned buffers, so no TCP slow start or window applies: the
    # engine's transport (which takes its RTT and loss from the LinkSpec) is left out, RTT and loss set to 0.
    link = LinkSpec(bandwidth_bps=inputs.link.bandwidth_bps, compression_ratio=inputs.link.compression_ratio)
    to_send = [(spec, pending_bytes(spec)) for spec, _ in placed]
    transfers = [(spec, size) for spec, size in to_send if size > 0]
    wave = None
    if transfers:
        wave = plan_wave(
            link,
            [
                PrecopyParams(memory_bytes=size, bandwidth_bps=inputs.link.bandwidth_bps, max_downtime_s=0.0)
                for _, size in transfers
            ],
            max_concurrent=max(1, inputs.transfer_concurrency),
        )
    transfer_end = {spec.workload_id: 0.0 for spec, _ in placed}
    if wave is not None:
        for (spec, _), item in zip(transfers, wave.items, strict=True):
            transfer_end[spec.workload_id] = item.end_s
    return transfer_end


def compute_drill(inputs: DrillInputs) -> DrillOutcome:
    """The whole drill's timeline and per-workload results (see the module docstring for the rules)."""
    outcome = DrillOutcome()
    hosts = [HostCapacity(h.name, h.free_memory_bytes, h.free_vcpus, h.cores) for h in inputs.hosts]
    spots = dict(inputs.rule_spots)
    groups = sorted(inputs.groups, key=lambda g: g.priority)
    segments = {
        spec.segment_name if spec.segment_on_recovery_site else (spec.recovery_segment_name or spec.segment_name)
        for g in groups
        for spec in g.workloads
    }
    prepare_s = PREPARE_BASE_S + PREPARE_PER_SEGMENT_S * len(segments)
    outcome.steps.append(
        StepPlan(
            "prepare_network",
            "Prepare test network",
            "done",
            f"Isolated network {inputs.test_network} on {inputs.recovery_site} with copies of "
            f"{len(segments)} segment(s); no route to production.",
            0.0,
            prepare_s,
        )
    )
    now = prepare_s
    for group in groups:
        step, results = _bring_up_group(inputs, group, now, hosts, spots)
        outcome.steps.append(step)
        outcome.results.extend(results)
        now += step.sim_duration_s

    recovered = [r for r in outcome.results if r.state == "recovered"]
    if recovered:
        outcome.measured_rto_s = max(r.up_at_s for r in recovered)
    verify_s = VERIFY_BASE_S + VERIFY_PER_WORKLOAD_S * len(recovered)
    if recovered:
        verify = StepPlan(
            "verify", "Verify", "done", f"{len(recovered)} replicas answered in {inputs.test_network}.", now, verify_s
        )
    else:
        verify = StepPlan("verify", "Verify", "skipped", "No replica came up: nothing to verify.", now, 0.0)
    outcome.steps.append(verify)
    now += verify.sim_duration_s
    clean_s = CLEAN_BASE_S + CLEAN_PER_WORKLOAD_S * len(recovered)
    outcome.steps.append(
        StepPlan(
            "clean_up",
            "Clean up",
            "done",
            f"Removed {len(recovered)} test replicas and {inputs.test_network}.",
            now,
            clean_s,
        )
    )
    return outcome
