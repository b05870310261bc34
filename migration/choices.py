"""Choices for migration fields, each with the colour the pages use for it."""

from django.db import models


class MigrationState(models.TextChoices):
    QUEUED = "queued", "Queued"
    PRECHECKS = "prechecks", "Pre-checks"
    PRECOPY = "precopy", "Pre-copy"
    SWITCHOVER = "switchover", "Switchover"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"

    @property
    def colour(self) -> str:
        return STATE_COLOURS[self.value]


STATE_COLOURS = {
    "queued": "grey",
    "prechecks": "indigo",
    "precopy": "indigo",
    "switchover": "amber",
    "completed": "green",
    "failed": "red",
    "cancelled": "grey",
}

#: A migration in one of these states holds its workload (at most one per workload).
ACTIVE_STATES = ("queued", "prechecks", "precopy", "switchover")
#: States that count against a host's concurrency limit (a queued migration is waiting for a slot).
RUNNING_STATES = ("prechecks", "precopy", "switchover")
#: Cancel is possible until the switchover starts.
CANCELLABLE_STATES = ("queued", "prechecks", "precopy")
FINAL_STATES = ("completed", "failed", "cancelled")
#: The order of the phase timeline on the live page.
PHASE_ORDER = ("queued", "prechecks", "precopy", "switchover", "completed")


class MigrationKind(models.TextChoices):
    LIVE = "live", "Live"
    LIVE_STORAGE = "live_storage", "Live with storage"
    COLD = "cold", "Cold"

    @property
    def colour(self) -> str:
        return {"live": "indigo", "live_storage": "teal", "cold": "grey"}[self.value]


class MigrationPolicy(models.TextChoices):
    """What the engine does when pre-copy does not converge within its caps."""

    THROTTLE = "throttle", "Throttle the guest (auto-converge)"
    FORCE = "force", "Force the switchover (longer downtime)"
    ABORT = "abort", "Abort (the workload stays on its source)"


class Outcome(models.TextChoices):
    CONVERGED = "converged", "Converged"
    FORCED = "forced", "Forced"
    ABORTED = "aborted", "Aborted"
    CANCELLED = "cancelled", "Cancelled"
    FAILED = "failed", "Failed"


class EventKind(models.TextChoices):
    CREATED = "created", "Created"
    QUEUED = "queued", "Queued"
    ADMITTED = "admitted", "Admitted"
    PHASE = "phase", "Phase change"
    ROUND = "round", "Round"
    THROTTLE = "throttle", "Throttle"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    RESUMED = "resumed", "Resumed"
