"""Cloud links: the one rule for how many live moves a WAN link carries at once, its bandwidth in the engine's unit
and what its MTU leaves for TCP. (The one lookup of the link between two sites is `inventory.selectors.link_between`.)
"""

from __future__ import annotations

#: The bandwidth one live migration needs on a WAN link (WAN optimization gains do not count toward it). It is the
#: link's admission limit: a link carries one move per this much of its bandwidth at once; the others wait in the
#: queue, and a link with no slot at all refuses them.
MIN_MBIT_PER_MIGRATION = 250.0
#: IPv4 + TCP headers without options: a path's MSS is its MTU less these.
IP_TCP_HEADER_BYTES = 40
#: A migration port whose MTU is not known is taken to be plain Ethernet.
DEFAULT_MTU_BYTES = 1500


def migration_slots(bandwidth_mbit: float) -> int:
    """Moves a WAN link of `bandwidth_mbit` carries at once: one per `MIN_MBIT_PER_MIGRATION`."""
    return int(bandwidth_mbit // MIN_MBIT_PER_MIGRATION)


def mbit_to_bps(bandwidth_mbit: float) -> float:
    """A link's Mbit/s in bytes per second, the engine's unit (1 Gbit/s = 125,000,000 B/s)."""
    return bandwidth_mbit * 1_000_000 / 8
