"""Objections to workloads leaving the inventory, from apps above it, without inventory importing them.

A higher layer registers a guard from its AppConfig.ready()::

    from inventory.removal import register_workload_removal_guard

    def active_migrations(workload_ids):
        return {m.workload_id: f"migration #{m.pk} is {m.state}" for m in Migration.objects.active()
                .filter(workload_id__in=workload_ids)}

    register_workload_removal_guard("migration.active", active_migrations)

Whoever is about to delete workloads (the RVTools import when a later export no longer lists a VM) asks
`workload_removal_objections(ids)` first and refuses when anything objects. A guard takes the ids and returns
{workload id: reason} for those it objects to; keep it to a constant number of queries.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

RemovalGuard = Callable[[Collection[int]], dict[int, str]]

_guards: dict[str, RemovalGuard] = {}


def register_workload_removal_guard(key: str, guard: RemovalGuard) -> None:
    """Adds (or replaces, by key: ready() may run twice) a guard."""
    _guards[key] = guard


def unregister_workload_removal_guard(key: str) -> None:
    _guards.pop(key, None)


def workload_removal_objections(workload_ids: Collection[int]) -> dict[int, list[str]]:
    """{workload id: [reasons]} for every workload some guard objects to removing; empty when all may go."""
    objections: dict[int, list[str]] = {}
    if not workload_ids:
        return objections
    for _key, guard in sorted(_guards.items()):
        for workload_id, reason in guard(workload_ids).items():
            objections.setdefault(workload_id, []).append(reason)
    return objections
