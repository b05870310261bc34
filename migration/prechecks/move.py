"""A move under check: what the pre-checks found (`PrecheckResult`, returned to callers) and the facts every named
check of one move shares (`Move`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inventory.models import CloudLink, Datastore, Host, NetworkSegment, Site, Workload
from inventory.usage import takes_room
from migration.choices import MigrationKind
from migration.prechecks.context import PrecheckContext


@dataclass
class PrecheckResult:
    """What the pre-checks found. `errors` block the move; `warnings` need a written override reason."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    destination_host: Host | None = None
    destination_datastore: Datastore | None = None
    destination_segment: NetworkSegment | None = None
    cloud_link: CloudLink | None = None
    link_key: str = ""
    kind: str = MigrationKind.LIVE
    prediction: dict[str, Any] = field(default_factory=dict)
    suggestions: list[dict[str, Any]] = field(default_factory=list)
    placement_reason: str = ""
    bandwidth_bps: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {
            "errors": list(self.errors),
            "warnings": list(self.warnings),
            "prediction": dict(self.prediction),
            "suggestions": list(self.suggestions),
            "kind": self.kind,
            "destination_host": self.destination_host.pk if self.destination_host else None,
            "destination_host_name": self.destination_host.name if self.destination_host else None,
            "destination_datastore": self.destination_datastore.pk if self.destination_datastore else None,
            "placement_reason": self.placement_reason,
        }


@dataclass(slots=True)
class Move:
    """One move being checked: the workload (as the context read it), its source and destination (and their
    sites), and what the checks found so far (`result`, which each check extends; `disk_bytes` and `link` are set
    by the storage and the link checks for the prediction)."""

    workload: Workload
    source: Host
    destination: Host
    context: PrecheckContext
    result: PrecheckResult
    accept_readdressing: bool = False
    exclude_migration: int | None = None
    disk_bytes: int = 0
    link: CloudLink | None = None
    source_site: Site = field(init=False)
    destination_site: Site = field(init=False)
    between_sites: bool = field(init=False)
    live: bool = field(init=False)  # powered on: moved live (`takes_room`)

    def __post_init__(self) -> None:
        # Read once for every check of the move (the sites through the context's per-host memo).
        self.source_site = self.context.place(self.source)[1]
        self.destination_site = self.context.place(self.destination)[1]
        self.between_sites = self.source_site is not self.destination_site and (
            self.source_site.id != self.destination_site.id
        )
        self.live = takes_room(self.workload.power_state)
