"""Alarms in the admin: rules and webhook endpoints are edited here (audited), as on the alarm pages; alarms and
deliveries are records (made by the evaluation and the delivery tasks, acknowledged and cleared on the pages)."""

from django.contrib import admin

from hybridcloud.core.admin import ReadOnlyInline
from hybridcloud.core.audit import AuditedModelAdmin
from migration.alarms.models import Alarm, AlarmEvent, AlarmRule, Delivery, DeliveryAttempt, WebhookEndpoint


@admin.register(AlarmRule)
class AlarmRuleAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ["name", "kind", "threshold", "duration_minutes", "drills_count", "severity", "enabled"]
    list_filter = ["kind", "severity", "enabled"]
    search_fields = ["name", "description", "email_to"]
    filter_horizontal = ["webhooks"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ["name", "url", "enabled", "retry_backoff_s", "max_attempts"]
    search_fields = ["name", "url"]


class AlarmEventInline(ReadOnlyInline):
    model = AlarmEvent
    fields = ["at", "action", "actor", "note"]
    readonly_fields = fields


@admin.register(Alarm)
class AlarmAdmin(admin.ModelAdmin):
    list_display = ["pk", "rule", "object_name", "severity", "state", "first_seen", "last_seen"]
    list_filter = ["state", "severity", "rule"]
    search_fields = ["message", "object_name", "key"]
    readonly_fields = [f.name for f in Alarm._meta.fields]
    inlines = [AlarmEventInline]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class DeliveryAttemptInline(ReadOnlyInline):
    model = DeliveryAttempt
    fields = ["number", "at", "ok", "response_code", "error", "duration_ms"]
    readonly_fields = fields


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["pk", "alarm", "channel", "endpoint", "status", "attempts", "response_code", "next_retry_at"]
    list_filter = ["channel", "status"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    inlines = [DeliveryAttemptInline]

    def has_add_permission(self, request, obj=None) -> bool:
        return False
