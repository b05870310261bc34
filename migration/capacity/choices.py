"""Choices of the capacity app, each with the colour the pages use for it."""

from django.db import models


class Scope(models.TextChoices):
    WORKLOAD = "workload", "Workload"
    HOST = "host", "Host"
    SITE = "site", "Site"


class RecommendationState(models.TextChoices):
    OPEN = "open", "Open"
    APPLIED = "applied", "Applied"
    DISMISSED = "dismissed", "Dismissed"

    @property
    def colour(self) -> str:
        return {"open": "amber", "applied": "green", "dismissed": "grey"}[self.value]


class EvacuationState(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    PARTIAL = "partial", "Partial"
    FAILED = "failed", "Failed"

    @property
    def colour(self) -> str:
        return {"running": "indigo", "completed": "green", "partial": "amber", "failed": "red"}[self.value]


class ItemState(models.TextChoices):
    PENDING = "pending", "Waiting for a link slot"
    MIGRATING = "migrating", "Migrating"
    MOVED = "moved", "Moved"
    BLOCKED = "blocked", "Cannot move"
    FAILED = "failed", "Failed"

    @property
    def colour(self) -> str:
        return {"pending": "grey", "migrating": "indigo", "moved": "green", "blocked": "red", "failed": "red"}[
            self.value
        ]


ITEM_FINAL_STATES = (ItemState.MOVED, ItemState.BLOCKED, ItemState.FAILED)
