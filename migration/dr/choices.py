"""Choices for DR fields, each with the colour the pages use for it."""

from django.db import models


class DrillKind(models.TextChoices):
    TEST = "test", "Test drill"
    PLANNED_MIGRATION = "planned_migration", "Planned migration"


class DrillTrigger(models.TextChoices):
    MANUAL = "manual", "Started by hand"
    SCHEDULE = "schedule", "Started by the schedule"


class DrillState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"

    @property
    def colour(self) -> str:
        return {"queued": "grey", "running": "indigo", "completed": "green", "failed": "red", "cancelled": "amber"}[
            self.value
        ]


ACTIVE_DRILL_STATES = (DrillState.QUEUED, DrillState.RUNNING)


class Verdict(models.TextChoices):
    PENDING = "", "Not measured"
    MET = "met", "RTO met"
    MISSED = "missed", "RTO missed"

    @property
    def colour(self) -> str:
        return {"": "grey", "met": "green", "missed": "red"}[self.value]


class StepKind(models.TextChoices):
    PREPARE_NETWORK = "prepare_network", "Prepare test network"
    BRING_UP = "bring_up", "Bring up group"
    VERIFY = "verify", "Verify"
    CLEAN_UP = "clean_up", "Clean up"
    MIGRATE = "migrate", "Migrate group"


class StepState(models.TextChoices):
    PENDING = "pending", "Not run yet"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"

    @property
    def colour(self) -> str:
        return {"pending": "grey", "running": "indigo", "done": "green", "failed": "red", "skipped": "amber"}[
            self.value
        ]


class ResultState(models.TextChoices):
    RECOVERED = "recovered", "Recovered"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Not attempted"

    @property
    def colour(self) -> str:
        return {"recovered": "green", "failed": "red", "skipped": "amber"}[self.value]


# Replication RPO bounds, in seconds: 5 minutes to 24 hours.
RPO_MIN_S = 5 * 60
RPO_MAX_S = 24 * 60 * 60
