"""The one accounting of what is used on hosts and sites: memory and vCPUs.

The rule, written only here:

1. a workload takes its memory and vCPUs on its host while it is powered on (`RUNNING`; a powered-off or suspended
   workload holds nothing there);
2. higher layers reserve room on hosts through `register_host_reservations` without inventory importing them: the
   migration app reserves, on the destination, what every powered-on workload with a migration queued or running
   towards it takes (on its source it still counts where it runs until the switchover moves it).

Capacity decisions (pre-checks, placement, power-on, container placement, DR drill capacity, capacity planning)
count both: `Usage.memory_bytes` / `Usage.vcpus`. Pages that show what runs on a host read `running_*` (or the
`running_sums` annotations, which sort in SQL). Read it through `inventory.selectors.host_usage` / `site_usage`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q, QuerySet, Sum

from inventory.choices import PowerState

if TYPE_CHECKING:
    from inventory.models import Workload

#: Workloads that take memory and vCPUs on their host: the powered-on ones.
RUNNING = Q(power_state=PowerState.ON)


def takes_room(power_state: str) -> bool:
    """Whether a workload in `power_state` takes its memory and vCPUs on its host (`RUNNING`, in Python)."""
    return power_state == PowerState.ON


def running_filter(prefix: str) -> Q:
    """`RUNNING` seen from another model: `prefix` is the path to the workload, e.g. ``"workloads__"`` from a host,
    ``"workload__"`` from a migration."""
    return Q(**{f"{prefix}{key}": value for key, value in RUNNING.children})


def running_sums(prefix: str = "") -> dict[str, Sum]:
    """`used_memory_bytes` and `used_vcpus` annotations of what running workloads take, for a queryset that sorts
    by them (`prefix`: the path to the workloads, as in `running_filter`)."""
    running = running_filter(prefix)
    return {
        "used_memory_bytes": Sum(f"{prefix}memory_bytes", filter=running, default=0),
        "used_vcpus": Sum(f"{prefix}vcpus", filter=running, default=0),
    }


@dataclass(frozen=True)
class Reservation:
    """Room a higher layer holds on a host for a workload that is not running there (yet): `why` says what holds
    it, e.g. ``"migration #12"``."""

    host_id: int
    site_id: int
    workload_id: int
    memory_bytes: int
    vcpus: int
    why: str = ""


#: A source of reservations: given host ids (or a queryset of hosts; None = every host), the reservations on them.
ReservationSource = Callable[[Collection[int] | QuerySet | None], Iterable[Reservation]]

_sources: dict[str, ReservationSource] = {}


def register_host_reservations(key: str, source: ReservationSource) -> None:
    """Adds (or replaces, by key: ready() may run twice) a source of reservations. Keep it to one query."""
    _sources[key] = source


def unregister_host_reservations(key: str) -> None:
    _sources.pop(key, None)


def host_reservations(hosts: Collection[int] | QuerySet | None = None) -> list[Reservation]:
    """Every registered reservation on `hosts` (None: on every host)."""
    return [r for _key, source in sorted(_sources.items()) for r in source(hosts)]


@dataclass(frozen=True)
class Usage:
    """Memory and vCPUs taken on one host (or one site): by its running workloads, plus what is reserved there."""

    pk: int | None = None  # the host's (or the site's) id
    running_memory_bytes: int = 0
    running_vcpus: int = 0
    reservations: tuple[Reservation, ...] = ()

    @property
    def reserved_memory_bytes(self) -> int:
        return sum(r.memory_bytes for r in self.reservations) if self.reservations else 0  # most hosts hold none

    @property
    def reserved_vcpus(self) -> int:
        return sum(r.vcpus for r in self.reservations) if self.reservations else 0

    @property
    def memory_bytes(self) -> int:
        """Memory taken: running plus reserved (what a capacity decision counts)."""
        return self.running_memory_bytes + self.reserved_memory_bytes

    @property
    def vcpus(self) -> int:
        return self.running_vcpus + self.reserved_vcpus

    def without(self, workload: Workload) -> Usage:
        """This host's usage less what `workload` (as saved) takes here: its share where it runs (a workload does
        not count against the host it is on) and whatever is reserved for it (a move of it being re-checked)."""
        own = workload.host_id == self.pk and takes_room(workload.power_state)
        if not own:  # the usual case of a destination: nothing of it runs here (and mostly nothing reserved)
            return self.without_reservations_of(workload.pk) if self.reservations else self
        return Usage(
            pk=self.pk,
            running_memory_bytes=self.running_memory_bytes - workload.memory_bytes,
            running_vcpus=self.running_vcpus - workload.vcpus,
            reservations=self.reservations,
        ).without_reservations_of(workload.pk)

    def without_reservations_of(self, workload_id: int | None) -> Usage:
        """The same less the reservations held for `workload_id` (itself, immutable, when it holds none)."""
        if not self.reservations:
            return self
        held = tuple(r for r in self.reservations if r.workload_id != workload_id)
        if len(held) == len(self.reservations):
            return self
        return Usage(self.pk, self.running_memory_bytes, self.running_vcpus, held)

    def plus(self, reservation: Reservation) -> Usage:
        """The same with one more reservation (a planner's move that is not started)."""
        return Usage(self.pk, self.running_memory_bytes, self.running_vcpus, self.reservations + (reservation,))


class UsageByKey(dict):
    """{host or site id: Usage}; a key with nothing on it reads as an empty `Usage` (not stored)."""

    def __missing__(self, key: int) -> Usage:
        return Usage(pk=key)


def usage_by(workloads: QuerySet, key: str, reservation_key: str, hosts=None) -> UsageByKey:
    """The accounting itself: one aggregate query of the running workloads of `workloads` grouped by `key`
    (``"host_id"`` or ``"host__cluster__site_id"``), plus the registered reservations on `hosts`, grouped by
    `reservation_key` (``"host_id"`` or ``"site_id"``)."""
    rows = workloads.filter(RUNNING).order_by().values_list(key).annotate(m=Sum("memory_bytes"), v=Sum("vcpus"))
    result = UsageByKey()
    for pk, memory, vcpus in rows:
        result[pk] = Usage(pk=pk, running_memory_bytes=memory or 0, running_vcpus=vcpus or 0)
    reserved: dict[int, list[Reservation]] = {}
    for r in host_reservations(hosts):
        reserved.setdefault(getattr(r, reservation_key), []).append(r)
    for pk, held in reserved.items():
        base = result[pk]
        result[pk] = Usage(pk, base.running_memory_bytes, base.running_vcpus, tuple(held))
    return result
