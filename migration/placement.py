"""Placement: the best host of a site for a workload, and why."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet

from hybridcloud.core.units import format_bytes
from inventory.choices import HostState, PlacementRuleKind
from inventory.models import Datastore, Host, PlacementRule, Site, Tag, Workload
from inventory.selectors import host_usage
from migration.choices import ACTIVE_STATES
from migration.engine.placement_rules import Rule, Spot, rule_broken, rules_at_risk, rules_broken
from migration.models import Migration

if TYPE_CHECKING:
    from migration.prechecks.context import PrecheckContext


@dataclass
class RuleBook:
    """Every enabled placement rule (plain values) and where each member workload runs; `site_hosts` are the
    connected hosts of each site, by name (where a workload could go instead)."""

    rules: list[Rule] = field(default_factory=list)
    spots: dict[int, tuple[str, Spot]] = field(default_factory=dict)
    site_hosts: dict[str, list[str]] = field(default_factory=dict)
    _by_member: dict[int, list[Rule]] | None = field(default=None, repr=False)

    def rules_of(self, workload_id: int) -> list[Rule]:
        """The rules `workload_id` is a member of (indexed once: planners ask for every candidate host)."""
        if self._by_member is None:
            self._by_member = {}
            for rule in self.rules:
                for member in rule.members:
                    self._by_member.setdefault(member, []).append(rule)
        return self._by_member.get(workload_id, [])

    def broken(self, workload: Workload, host: Host) -> list[str]:
        """The rules that putting `workload` on `host` breaks, one sentence each (`rules_broken`)."""
        if not self.rules_of(workload.pk):  # no rule names it: no spot to make (a planner asks this per move)
            return []
        return self.broken_on(workload.pk, workload.name, Spot(host.name, host.cluster.site.name))

    def broken_on(self, workload_id: int, workload_name: str, target: Spot) -> list[str]:
        rules = self.rules_of(workload_id)
        if not rules:
            return []
        return rules_broken(
            rules, workload_id=workload_id, workload_name=workload_name, target=target, spots=self.spots
        )

    def move(self, workload_id: int, workload_name: str, target: Spot) -> None:
        """A planner's move: from now on the member counts where it is planned to run."""
        if workload_id in self.spots:
            self.spots[workload_id] = (workload_name, target)

    def at_risk(self, workload: Workload, host: Host) -> list[str]:
        """The rules `host` keeps but no other connected host of its site would (`rules_at_risk`)."""
        rules = self.rules_of(workload.pk)
        if not rules:
            return []
        site = host.cluster.site.name
        return rules_at_risk(
            rules,
            workload_id=workload.pk,
            workload_name=workload.name,
            target=Spot(host.name, site),
            spots=self.spots,
            site_hosts=self.site_hosts.get(site, []),
        )


def rule_book_load(*, enabled_only: bool = True) -> RuleBook:
    """Read every enabled placement rule (every rule, with `enabled_only=False`), its members (tagged or named) and
    a pin's hosts, and where the members run, in a constant number of queries (one when there is no rule)."""
    rules_read = PlacementRule.objects.filter(enabled=True) if enabled_only else PlacementRule.objects.all()
    rows = list(
        rules_read.values_list("pk", "name", "kind", "scope", "workload_tag_id", "host_tag_id", "host_tag__name")
    )
    if not rows:
        return RuleBook()
    explicit: dict[int, set[int]] = {pk: set() for pk, *_ in rows}
    through = PlacementRule.workloads.through.objects.filter(placementrule_id__in=explicit)
    for rule_id, workload_id in through.values_list("placementrule_id", "workload_id"):
        explicit[rule_id].add(workload_id)
    tagged: dict[int, set[int]] = {}
    tag_ids = {row[4] for row in rows if row[4]}
    for tag_id, workload_id in Workload.tags.through.objects.filter(tag_id__in=tag_ids).values_list(
        "tag_id", "workload_id"
    ):
        tagged.setdefault(tag_id, set()).add(workload_id)
    pinned: dict[int, set[str]] = {}
    host_tag_ids = {row[5] for row in rows if row[5]}
    for tag_id, host_name in Host.tags.through.objects.filter(tag_id__in=host_tag_ids).values_list(
        "tag_id", "host__name"
    ):
        pinned.setdefault(tag_id, set()).add(host_name)
    rules = [
        Rule(
            name=name,
            kind=kind,
            scope=scope,
            members=frozenset(explicit[pk] | tagged.get(workload_tag, set())),
            hosts=frozenset(pinned.get(host_tag, set())),
            host_group=host_tag_name or "",
        )
        for pk, name, kind, scope, workload_tag, host_tag, host_tag_name in rows
    ]
    members = set().union(*(rule.members for rule in rules))
    spots = {
        pk: (name, Spot(host, site))
        for pk, name, host, site in Workload.objects.filter(pk__in=members).values_list(
            "pk", "name", "host__name", "host__cluster__site__name"
        )
    }
    # A member on its way (a migration queued or running) counts where it is going: two replicas moved in one
    # wave are kept apart by the second one's checks.
    moving = Migration.objects.filter(state__in=ACTIVE_STATES, workload_id__in=members).values_list(
        "workload_id", "destination_host__name", "destination_host__cluster__site__name"
    )
    for pk, host, site in moving:
        spots[pk] = (spots[pk][0], Spot(host, site))
    site_hosts: dict[str, list[str]] = {}
    for host, site in (
        Host.objects.filter(state=HostState.CONNECTED).order_by("name").values_list("name", "cluster__site__name")
    ):
        site_hosts.setdefault(site, []).append(host)
    return RuleBook(rules=rules, spots=spots, site_hosts=site_hosts)


def placement_rule_checks(*, workload: Workload, host: Host, context: PrecheckContext) -> tuple[list[str], list[str]]:
    """The pre-check of the placement rules for moving `workload` to `host`: (errors, warnings). A rule broken is an
    error, a rule at risk a warning; each sentence names its rule."""
    book = context.rule_book()
    return book.broken(workload, host), book.at_risk(workload, host)


@dataclass
class Placement:
    """`host` is None when no host can take the workload; `reason` says why, either way. A new workload's placement
    also names the `datastore` its disk goes to."""

    host: Host | None
    reason: str
    datastore: Datastore | None = None


@dataclass(frozen=True)
class Demand:
    """What a workload about to be created needs of a host; `what` names it in the reason ("container web on cluster
    ca-k8s")."""

    vcpus: int
    memory_bytes: int
    disk_bytes: int
    what: str


def _fitting_datastore(host: Host, disk_bytes: int) -> Datastore | None:
    """Of the datastores `host` sees on its own site, the one with the most free space that holds `disk_bytes`."""
    datastores = [d for d in host.datastores.all() if d.site_id == host.cluster.site_id and d.free_bytes >= disk_bytes]
    return max(datastores, key=lambda d: d.free_bytes, default=None)


def _no_room(demand: Demand, best: Host, free_memory: int, free_vcpus: int) -> str:
    plural = "s" if demand.vcpus > 1 else ""
    return (
        f"No capacity for {demand.what}: it needs {demand.vcpus} vCPU{plural} and {format_bytes(demand.memory_bytes)} "
        f"of memory; the host with the most free, {best.name}, has {max(free_vcpus, 0)} vCPUs and "
        f"{format_bytes(max(free_memory, 0))} free."
    )


def place_new_workload(*, hosts, demand: Demand, refusals: Callable[[Host], list[str]] | None = None) -> Placement:
    """Where a workload about to be created goes (a container-VM, a Kubernetes node VM): of `hosts` (a queryset),
    the connected host with the most memory free that fits it, by the same capacity rule as a move's pre-checks
    (memory never overcommitted, vCPUs within the host's overcommitted cores and never more than its cores; usage
    by inventory's one accounting, `host_usage`, so live moves on their way to a host count there), and the
    datastore of the host's site it sees with the most free space. Ties go to the oldest host. A host that
    `refusals` refuses (the pre-checks' `PrecheckContext.host_refusals`: a host being evacuated takes nothing new,
    or its evacuation would never end) is passed over, as it is for a move.

    A workload not created yet is a member of no placement rule (rules name workloads or their tags), so no rule
    can decide here; once it exists, every move of it (`place_workload`, the pre-checks) honours them."""
    candidates = list(hosts.select_related("cluster__site").prefetch_related("datastores"))
    connected = [h for h in candidates if h.state == HostState.CONNECTED]
    if not connected:
        return Placement(None, f"No capacity for {demand.what}: no connected host to run it on.")
    if refusals is not None:
        refused = {h.pk: reasons[0] for h in connected if (reasons := refusals(h))}
        if len(refused) == len(connected):
            return Placement(None, f"No capacity for {demand.what}: no host takes it. " + " ".join(
                list(refused.values())[:5]))  # fmt: skip
        connected = [h for h in connected if h.pk not in refused]
    usage = host_usage(connected)
    fitting: list[tuple[int, Host, Datastore]] = []
    best: tuple[int, int, Host] | None = None  # (free memory, free vCPUs, host) of the host with the most free
    for host in connected:
        free_memory = host.memory_bytes - usage[host.pk].memory_bytes
        free_vcpus = host.vcpu_capacity - usage[host.pk].vcpus
        if best is None or free_memory > best[0]:
            best = (free_memory, free_vcpus, host)
        if free_memory < demand.memory_bytes or free_vcpus < demand.vcpus or demand.vcpus > host.cores:
            continue
        datastore = _fitting_datastore(host, demand.disk_bytes)
        if datastore is not None:
            fitting.append((free_memory, host, datastore))
    if not fitting:
        return Placement(None, _no_room(demand, best[2], best[0], best[1]))
    free_memory, host, datastore = max(fitting, key=lambda item: (item[0], -item[1].pk))
    reason = (
        f"Placed on {host.name}: of {len(fitting)} host{'s' if len(fitting) != 1 else ''} that can take "
        f"{demand.what}, it has the most memory free ({format_bytes(free_memory)} of "
        f"{format_bytes(host.memory_bytes)})."
    )
    return Placement(host, reason, datastore)


#: The pre-checks of one destination host for a move: (errors, facts with "free_memory_after"). The pre-checks
#: pass theirs (`migration.prechecks.host_checks`): placement sits below them, so it is given the checks rather than
#: importing them (the pre-checks call placement to resolve a destination site).
HostChecks = Callable[..., tuple[list[str], dict]]


def place_workload(
    *,
    workload: Workload,
    site: Site,
    host_checks: HostChecks,
    context: PrecheckContext,
    exclude_migration: int | None = None,
) -> Placement:
    """The host of `site` that passes `host_checks` and the placement rules and keeps the most memory free after
    the move, preferring the source's CPU baseline (no feature difference at all). Hosts in maintenance, down or
    being evacuated are refused by those checks. `context` shares what the checks read (see `PrecheckContext`)."""
    source_cluster = workload.host.cluster
    candidates = [host for host in context.site_hosts(site) if host.pk != workload.host_id]
    book = context.rule_book()
    passing: list[tuple[Host, float, bool]] = []
    refused: list[str] = []
    by_rule: list[str] = []  # placement rules that turned a host down: the reason names them
    for host in candidates:
        errors, facts = host_checks(workload, host, exclude_migration=exclude_migration, context=context)
        if errors:
            refused.append(errors[0])
            continue
        broken = book.broken(workload, host)
        if broken:
            refused.append(broken[0])
            by_rule.append(broken[0])
            continue
        same_baseline = host.cluster.cpu_baseline == source_cluster.cpu_baseline
        passing.append((host, facts["free_memory_after"], same_baseline))
    if not passing:
        if not refused:
            return Placement(None, f"{site.name} has no host that {workload.name} could move to.")
        # The rules first: what no capacity change would fix.
        refused = by_rule + [r for r in refused if r not in by_rule]
        return Placement(None, f"No host on {site.name} can take {workload.name}: " + " ".join(refused[:5]))
    passing.sort(key=lambda item: (not item[2], -item[1], item[0].name))
    host, free_after, same = passing[0]
    others = len(passing) - 1
    reason = (
        f"Placed on {host.name}: of {len(passing)} host{'s' if len(passing) != 1 else ''} on {site.name} that pass "
        f"the pre-checks, it keeps the most memory free after the move ({format_bytes(free_after)} of "
        f"{format_bytes(host.memory_bytes)})"
    )
    if same:
        reason += f" and has the same CPU baseline as the source ({host.cluster.get_cpu_baseline_display()})"
    elif host.state == HostState.CONNECTED:
        reason += f"; its CPU baseline ({host.cluster.get_cpu_baseline_display()}) is newer than the source's"
    reason += "." if others or not refused else f"; {len(refused)} other host(s) were refused."
    if by_rule:
        reason += " " + " ".join(by_rule[:5])
    return Placement(host, reason)


@dataclass
class RuleStatus:
    """A rule as the rules page shows it: its members and where they run, a pin's hosts, and what breaks it now."""

    rule: PlacementRule
    members: list[tuple[str, Spot]]
    hosts: list[str]
    broken: list[str]

    @property
    def kind_colour(self) -> str:
        return PlacementRuleKind(self.rule.kind).colour

    @property
    def workload_tags(self) -> list[Tag]:
        return [self.rule.workload_tag] if self.rule.workload_tag else []

    @property
    def host_tags(self) -> list[Tag]:
        return [self.rule.host_tag] if self.rule.host_tag else []


def placement_rule_statuses(*, tag: str = "", rules: QuerySet[PlacementRule] | None = None) -> list[RuleStatus]:
    """Every rule (those whose workload tag or host group is `tag`, when given; or `rules`, a page's filtered rules)
    with what breaks it where its members run now (`rule_broken`, each pair of members once); a disabled rule binds
    nothing, so nothing breaks it."""
    if rules is None:
        rules = PlacementRule.objects.order_by("name")
    rules = rules.select_related("workload_tag", "host_tag")
    if tag:
        rules = rules.filter(Q(workload_tag__slug=tag) | Q(host_tag__slug=tag))
    book = rule_book_load(enabled_only=False)
    by_name = {rule.name: rule for rule in book.rules}
    statuses = []
    for rule in rules:
        values = by_name[rule.name]
        members = sorted(((pk, *book.spots[pk]) for pk in values.members if pk in book.spots), key=lambda m: m[1])
        broken: list[str] = []
        seen: dict[int, tuple[str, Spot]] = {}
        for pk, name, spot in members if rule.enabled else []:
            sentence = rule_broken(values, workload_id=pk, workload_name=name, target=spot, spots=seen)
            if sentence:
                broken.append(sentence)
            seen[pk] = (name, spot)
        statuses.append(RuleStatus(rule, [(name, spot) for _, name, spot in members], sorted(values.hosts), broken))
    return statuses


def move_options(request: Mapping) -> dict:
    """Where a move goes and how, from a validated request (the wizard's form, the bulk-move form, the API's body):
    a chosen host wins over the site, which placement would otherwise choose in."""
    host = request.get("destination_host")
    return {
        "destination_host": host, "destination_site": None if host else request.get("destination_site"),
        "policy": request["policy"], "max_downtime_s": request["max_downtime_s"],
        "accept_readdressing": request["accept_readdressing"],
    }  # fmt: skip
