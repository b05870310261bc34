"""Refusals of a destination host by layers above the pre-checks, without the pre-checks importing them.

A higher layer registers a refusal source from its AppConfig.ready()::

    from migration.prechecks import register_host_refusal

    def evacuating_hosts() -> HostCheck:
        by_host = dict(Evacuation.objects.running().values_list("host_id", "pk"))   # read once
        def refuse(host):
            pk = by_host.get(host.pk)
            return None if pk is None else f"Host {host.name} is being evacuated (evacuation #{pk})."
        return refuse

    register_host_refusal("capacity.evacuation", evacuating_hosts)

A source is called once per `PrecheckContext` (one read, however many hosts are weighed) and returns a check; the
check answers for one host: a sentence saying why the host takes no new workload, or None. Every refusal is an
error of the move (and placement passes over the host).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inventory.models import Host

HostCheck = Callable[["Host"], str | None]
HostRefusalSource = Callable[[], HostCheck]

_sources: dict[str, HostRefusalSource] = {}


def register_host_refusal(key: str, source: HostRefusalSource) -> None:
    """Adds (or replaces, by key: ready() may run twice) a source of host refusals."""
    _sources[key] = source


def unregister_host_refusal(key: str) -> None:
    _sources.pop(key, None)


def host_refusal_checkers() -> list[HostCheck]:
    """One check per registered source, in key order (each source reads what it needs now)."""
    return [source() for _key, source in sorted(_sources.items())]
