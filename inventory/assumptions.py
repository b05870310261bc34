"""What the product assumes about a workload when nothing measured it: its memory dirty rate and writable working set.

RVTools (and any inventory export) says how big a VM is, never how fast its guest writes to memory, yet the live
migration engine needs both. One table holds the defaults, by the workload's role (read from its name or annotation)
and, failing that, by its guest OS. The RVTools import sets every imported workload from it and says so in its
summary; the migration assessment uses the same function and shows the rule it applied, so the two never disagree.

    a = workload_dirty_assumption(name="pg-prod-01", guest_os="Red Hat Enterprise Linux 9 (64-bit)", memory_bytes=2**34)
    a.role, a.dirty_rate_bps, a.working_set_bytes, a.rule

Rates are decimal (1 MB/s = 1,000,000 B/s); the working set is a share of the memory. The figures sit inside the
ranges the demo seeds per role and the published vMotion/QEMU measurements in docs/engine.md: idle infrastructure
VMs dirty a few MB/s, web and app servers tens, databases and caches tens to a hundred and more.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MB = 1_000_000


@dataclass(frozen=True)
class DirtyRule:
    """One row of the defaults table: a role, how it is recognised, and what it assumes."""

    role: str
    label: str
    pattern: str  # a regular expression searched (case-insensitively) in the name and annotation; "" = OS fallback
    dirty_mb_s: float
    working_set_share: float


@dataclass(frozen=True)
class DirtyAssumption:
    """The assumption applied to one workload, with the rule that produced it (shown to users)."""

    role: str
    dirty_rate_bps: int
    working_set_bytes: int
    rule: str


# First match wins: specific roles before generic ones. Keep labels short; pages show them as they are.
DIRTY_RULES: tuple[DirtyRule, ...] = (
    DirtyRule("database", "Database", r"sql|oracle|\bora|postgres|\bpg[-_]|mysql|maria|mongo|\bdb|db\d|db\b|sap|hana",
              50, 0.5),
    DirtyRule("cache", "Cache or message broker", r"redis|memcache|kafka|rabbit|\bmq|elastic|search|solr", 80, 0.6),
    DirtyRule("web", "Web or proxy", r"web|www|nginx|apache|\biis|proxy|\blb\b|haproxy|frontend", 10, 0.25),
    DirtyRule("app", "Application server", r"\bapp|api|svc|service|tomcat|jboss|java|backend", 25, 0.4),
    DirtyRule("build", "Build or batch", r"jenkins|build|ci[-_]|batch|worker|etl", 40, 0.5),
    DirtyRule("infra", "Infrastructure service", r"\bdc\d|\bad[-_\d]|dns|dhcp|ntp|monitor|log|backup|file|\bfs\d|print",
              5, 0.2),
    DirtyRule("windows", "Windows (no role recognised)", "", 20, 0.35),
    DirtyRule("linux", "Linux or other OS (no role recognised)", "", 15, 0.3),
)  # fmt: skip

_COMPILED = [(rule, re.compile(rule.pattern, re.IGNORECASE)) for rule in DIRTY_RULES if rule.pattern]
_BY_ROLE = {rule.role: rule for rule in DIRTY_RULES}


def dirty_rule_for(*, name: str, guest_os: str, annotation: str = "") -> DirtyRule:
    """The table row that applies: the first role whose pattern appears in the name or annotation, otherwise the
    guest OS's row (Windows, or everything else)."""
    text = f"{name}\n{annotation}"
    for rule, regex in _COMPILED:
        if regex.search(text):
            return rule
    return _BY_ROLE["windows"] if "windows" in (guest_os or "").lower() else _BY_ROLE["linux"]


def workload_dirty_assumption(*, name: str, guest_os: str, memory_bytes: int, annotation: str = "") -> DirtyAssumption:
    """The default dirty rate (bytes/s) and writable working set (bytes, at most the memory) for a workload nobody
    measured, from `DIRTY_RULES`."""
    rule = dirty_rule_for(name=name, guest_os=guest_os, annotation=annotation)
    return DirtyAssumption(
        role=rule.role,
        dirty_rate_bps=int(rule.dirty_mb_s * MB),
        working_set_bytes=min(int(memory_bytes * rule.working_set_share), memory_bytes),
        rule=f"{rule.label}: {rule.dirty_mb_s:g} MB/s, working set {rule.working_set_share:.0%} of memory",
    )
