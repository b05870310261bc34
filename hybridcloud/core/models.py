"""The platform's own data: the audit trail."""

import json

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone


class AuditVia(models.TextChoices):
    UI = "ui", "Web UI"
    API = "api", "REST API"
    ADMIN = "admin", "Admin"
    DOCKER = "docker", "Docker API"
    CLI = "cli", "Command line"
    SCHEDULE = "schedule", "Schedule"


class AuditEntry(models.Model):
    """One recorded change or action: who, when, what (action + object), from where, before and after.

    Rules: entries are append-only (nobody edits or deletes them through the UI, the API or the admin);
    `actor` is null for the system and schedules, and `actor_label` keeps the name even after the user is
    deleted; `before`/`after` hold JSON-safe field values (see `hybridcloud.core.audit.model_snapshot`).
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_entries"
    )
    actor_label = models.CharField(max_length=150, help_text='The username, or "system" / "schedule".')
    action = models.CharField(max_length=64, db_index=True, help_text='e.g. "migration.start", "inventory.change".')
    object_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    via = models.CharField(max_length=16, choices=AuditVia.choices, default=AuditVia.UI)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label} {self.action} {self.object_repr}".strip()

    @property
    def changed_fields(self) -> list[str]:
        """Names of the fields whose value differs between before and after."""
        before, after = self.before or {}, self.after or {}
        return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))

    @property
    def diff(self) -> list[tuple[str, object, object]]:
        """(field, before, after) for each changed field."""
        before, after = self.before or {}, self.after or {}
        return [(name, before.get(name), after.get(name)) for name in self.changed_fields]

    @property
    def before_json(self) -> str:
        return json.dumps(self.before, indent=1, sort_keys=True)

    @property
    def after_json(self) -> str:
        return json.dumps(self.after, indent=1, sort_keys=True)


KNOWN_ACTIONS = (
    "migration.start", "migration.override", "migration.cancel", "drill.run", "container.create",
    "container.start", "container.stop", "container.remove", "inventory.create", "inventory.change",
    "inventory.delete", "inventory.import", "alarm.acknowledge", "alarm.clear", "alarm_rule.create",
    "alarm_rule.change", "alarm_rule.delete", "webhook_endpoint.create", "webhook_endpoint.change",
)  # fmt: skip
