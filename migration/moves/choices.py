"""Choices for move groups, each with the colour the pages use for it."""

from django.db import models


class MoveGroupState(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"

    @property
    def colour(self) -> str:
        return {"scheduled": "indigo", "running": "amber", "completed": "green", "cancelled": "grey"}[self.value]


class WindowClose(models.TextChoices):
    """What happens to a member still in pre-copy when the maintenance window closes (chosen up front)."""

    ABORT = "abort", "Abort: the workload stays on its source"
    SWITCHOVER = "switchover", "Switch over anyway, after the window"


class MemberState(models.TextChoices):
    PENDING = "pending", "Waiting for a slot"
    STARTED = "started", "Started"
    REFUSED = "refused", "Refused at its turn"
    CANCELLED = "cancelled", "Cancelled before it started"

    @property
    def colour(self) -> str:
        return {"pending": "grey", "started": "indigo", "refused": "red", "cancelled": "grey"}[self.value]


#: A group in these states can still be edited (its schedule) and cancelled without touching a migration.
EDITABLE_STATES = ("scheduled",)
#: A group in these states can be cancelled as a whole.
GROUP_CANCELLABLE_STATES = ("scheduled", "running")
