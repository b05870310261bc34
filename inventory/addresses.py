"""Addresses on a network segment: the one rule for which address a new or re-addressed workload gets."""

from __future__ import annotations

import ipaddress

from inventory.models import NetworkSegment, Workload


class NoFreeAddress(Exception):
    """Every usable address of the segment is taken; the message names the segment."""


def allocate_ip(segment: NetworkSegment, preferred: str | None = None) -> str:
    """The first free address on `segment`: not its network or broadcast address, not its gateway, not one a
    workload holds. `preferred` when that address is free and inside the segment (a Kubernetes node keeps the
    address it reported). Raises NoFreeAddress when none is left."""
    network = segment.network
    used = set(Workload.objects.filter(segment=segment).values_list("ip_address", flat=True))
    used.add(str(ipaddress.ip_address(segment.gateway)))
    if preferred:
        try:
            address = ipaddress.ip_address(preferred)
        except ValueError:
            address = None
        if (
            address is not None
            and address in network
            and str(address) not in used
            and address not in (network.network_address, network.broadcast_address)
        ):
            return str(address)
    # At most len(used) addresses are skipped before a free one: the walk ends within len(used) + 1 steps.
    for address in network.hosts():
        if str(address) not in used:
            return str(address)
    raise NoFreeAddress(f"Segment {segment.name} ({segment.cidr}) has no free address left.")
