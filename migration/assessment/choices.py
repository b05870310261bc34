"""Choices of the assessment app, each with the colour the pages use for it."""

from django.db import models


class AssessmentStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"

    @property
    def colour(self) -> str:
        return {"queued": "grey", "running": "indigo", "done": "green", "failed": "red"}[self.value]


class ScopeKind(models.TextChoices):
    SITE = "site", "A site"
    CLUSTER = "cluster", "A cluster"
    ESTATE = "estate", "An imported estate"
    FILTER = "filter", "A filter of the workloads table"


class MoveMode(models.TextChoices):
    """How a workload would move: live (memory only), live with its disk, cold (powered off), or not at all."""

    LIVE = "live", "Live"
    LIVE_STORAGE = "live_storage", "Live, with its disk"
    COLD = "cold", "Cold (powered off)"
    BLOCKED = "blocked", "Cannot move"

    @property
    def colour(self) -> str:
        return {"live": "green", "live_storage": "teal", "cold": "grey", "blocked": "red"}[self.value]


class DirtySource(models.TextChoices):
    """Where a workload's memory dirty rate came from (RVTools has none)."""

    OVERRIDE = "override", "Edited in this assessment"
    TELEMETRY = "telemetry", "Measured in its past migrations"
    INVENTORY = "inventory", "The inventory's figure"
    DEFAULT = "default", "Documented default"


FINAL_STATUSES = (AssessmentStatus.DONE, AssessmentStatus.FAILED)
