"""Choices of the alarms app, each with the colour the pages use for it."""

from django.db import models


class RuleKind(models.TextChoices):
    HOST_CPU = "host_cpu", "Host CPU over a threshold for N minutes"
    HOST_MEMORY = "host_memory", "Host memory over a threshold for N minutes"
    LINK_LOSS = "link_loss", "Link packet loss over a threshold"
    LINK_UTILISATION = "link_utilisation", "Link utilisation over a threshold"
    MIGRATION_FAILED = "migration_failed", "Migration failed"
    DRILL_RTO_MISSED = "drill_rto_missed", "Drill missed its RTO"
    RTO_TREND = "rto_trend", "RTO worsening over the last K drills"
    RPO_VIOLATED = "rpo_violated", "RPO violated in a drill"
    CONTAINER_HOST_LIMITS = "container_host_limits", "Container host over its limits"


#: Kinds whose alarm is raised once per event (a failed migration, a drill): it never clears by itself.
EVENT_KINDS = frozenset({RuleKind.MIGRATION_FAILED, RuleKind.DRILL_RTO_MISSED, RuleKind.RPO_VIOLATED})

#: Kinds that compare a percentage with `threshold` (and what the percentage is of).
THRESHOLD_KINDS = {
    RuleKind.HOST_CPU: "CPU use, % of the host's capacity",
    RuleKind.HOST_MEMORY: "memory use, % of the host's capacity",
    RuleKind.LINK_LOSS: "packet loss, %",
    RuleKind.LINK_UTILISATION: "migration traffic, % of the link's bandwidth",
    RuleKind.RTO_TREND: "RTO increase from the first to the last of the K drills, %",
    RuleKind.CONTAINER_HOST_LIMITS: "CPUs or memory used by running containers, % of the host's limit",
}


class Severity(models.TextChoices):
    INFO = "info", "Info"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"

    @property
    def colour(self) -> str:
        return {"info": "indigo", "warning": "amber", "critical": "red"}[self.value]

    @property
    def rank(self) -> int:
        return {"critical": 0, "warning": 1, "info": 2}[self.value]


class AlarmState(models.TextChoices):
    ACTIVE = "active", "Active"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    CLEARED = "cleared", "Cleared"

    @property
    def colour(self) -> str:
        return {"active": "red", "acknowledged": "amber", "cleared": "grey"}[self.value]


#: An alarm in one of these states is open: at most one open alarm per rule and object.
OPEN_STATES = (AlarmState.ACTIVE, AlarmState.ACKNOWLEDGED)


class AlarmAction(models.TextChoices):
    RAISED = "raised", "Raised"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    CLEARED = "cleared", "Cleared"
    RESOLVED = "resolved", "Condition ended"


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RETRYING = "retrying", "Retrying"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"

    @property
    def colour(self) -> str:
        return {"pending": "indigo", "retrying": "amber", "delivered": "green", "failed": "red"}[self.value]


UNSENT_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)
