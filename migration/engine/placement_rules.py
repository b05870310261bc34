"""Placement rules (keep together, keep apart, pin to a host group) judged on plain values: the one rule check that
placement, pre-checks, recommendations, evacuations and DR recovery all call.

Rules:

- **Keep apart** (scope host): no two members on one host; (scope site): no two members on one site.
- **Keep together** (scope host): every member on the host of the others; (scope site): on their site.
- **Pin to a host group**: a member only on a host of the group.
- A rule is **broken** by a placement when the workload, put on the target, would break it against where the
  other members run (or are planned to run). A rule is **at risk** when the target keeps it but no other host of
  the target's site would (keep apart and pin only): losing that host leaves nowhere to go without breaking it.
- Sentences name the rule, the workload, the host or site refused and the member that decided, e.g.
  "keep-apart rule 'db-replicas' puts db-2 off esx-ca-03, where db-1 runs."
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

KEEP_TOGETHER = "keep_together"
KEEP_APART = "keep_apart"
PIN_TO_HOSTS = "pin_to_hosts"
SCOPE_HOST = "host"
SCOPE_SITE = "site"

KIND_WORDS = {KEEP_TOGETHER: "keep-together", KEEP_APART: "keep-apart", PIN_TO_HOSTS: "pin"}


@dataclass(frozen=True)
class Spot:
    """Where a workload runs, or would run: a host and its site, by name (both unique)."""

    host: str
    site: str


@dataclass(frozen=True)
class Rule:
    """A placement rule's values: `members` are workload ids; a pin's `hosts` are its group's host names."""

    name: str
    kind: str
    scope: str = SCOPE_HOST
    members: frozenset[int] = field(default_factory=frozenset)
    hosts: frozenset[str] = field(default_factory=frozenset)
    host_group: str = ""  # a pin's tag, for its sentences

    @property
    def label(self) -> str:
        return f"{KIND_WORDS.get(self.kind, self.kind)} rule '{self.name}'"


def _place(scope: str, spot: Spot) -> str:
    return spot.host if scope == SCOPE_HOST else spot.site


def _where(scope: str, spot: Spot) -> str:
    return spot.host if scope == SCOPE_HOST else f"site {spot.site}"


def rule_broken(
    rule: Rule, *, workload_id: int, workload_name: str, target: Spot, spots: Mapping[int, tuple[str, Spot]]
) -> str | None:
    """The sentence saying how putting the workload on `target` breaks `rule`, or None when it keeps it.
    `spots` maps the other workloads' ids to (name, where they run or are planned to run)."""
    if workload_id not in rule.members:
        return None
    if rule.kind == PIN_TO_HOSTS:
        if target.host in rule.hosts:
            return None
        group = ", ".join(sorted(rule.hosts)) or "none"
        return (
            f"{rule.label} keeps {workload_name} on hosts tagged '{rule.host_group}' ({group}); "
            f"{target.host} is not one."
        )
    others = sorted((name, spot) for wid, (name, spot) in spots.items() if wid in rule.members and wid != workload_id)
    here = _place(rule.scope, target)
    if rule.kind == KEEP_APART:
        for name, spot in others:
            if _place(rule.scope, spot) == here:
                return f"{rule.label} puts {workload_name} off {_where(rule.scope, target)}, where {name} runs."
    elif rule.kind == KEEP_TOGETHER:
        for name, spot in others:
            if _place(rule.scope, spot) != here:
                return (
                    f"{rule.label} keeps {workload_name} with {name} on {_where(rule.scope, spot)}, "
                    f"not {_where(rule.scope, target)}."
                )
    return None


def rules_broken(
    rules: Iterable[Rule], *, workload_id: int, workload_name: str, target: Spot, spots: Mapping[int, tuple[str, Spot]]
) -> list[str]:
    """Every rule that putting the workload on `target` breaks, one sentence each (see `rule_broken`)."""
    found = []
    for rule in rules:
        sentence = rule_broken(rule, workload_id=workload_id, workload_name=workload_name, target=target, spots=spots)
        if sentence:
            found.append(sentence)
    return found


def rules_at_risk(
    rules: Iterable[Rule],
    *,
    workload_id: int,
    workload_name: str,
    target: Spot,
    spots: Mapping[int, tuple[str, Spot]],
    site_hosts: Iterable[str],
) -> list[str]:
    """Keep-apart and pin rules the target keeps but no other host of `site_hosts` (the target's site) would:
    one sentence each."""
    alternatives = [Spot(host, target.site) for host in site_hosts if host != target.host]
    found = []
    for rule in rules:
        if rule.kind not in (KEEP_APART, PIN_TO_HOSTS) or workload_id not in rule.members:
            continue
        if rule.kind == KEEP_APART and rule.scope == SCOPE_SITE:
            continue  # the site is the unit: another host of it changes nothing
        args = {"workload_id": workload_id, "workload_name": workload_name, "spots": spots}
        if rule_broken(rule, target=target, **args):
            continue
        if any(rule_broken(rule, target=spot, **args) is None for spot in alternatives):
            continue
        found.append(
            f"{rule.label} is at risk: {target.host} is the only host on {target.site} where {workload_name} keeps "
            "it, so losing that host leaves nowhere to go without breaking it."
        )
    return found
