from rest_framework import serializers

from inventory.api.serializers import ModelCleanSerializer
from migration.alarms.models import Alarm, AlarmEvent, AlarmRule, Delivery, DeliveryAttempt, WebhookEndpoint


class AlarmRuleSerializer(ModelCleanSerializer):
    """A rule; `threshold` in percent; `condition` is the rule in words. The model's rules apply (as in the admin)."""

    condition = serializers.CharField(read_only=True)
    webhooks = serializers.PrimaryKeyRelatedField(queryset=WebhookEndpoint.objects.all(), many=True, required=False)

    class Meta:
        model = AlarmRule
        fields = [
            "id", "name", "kind", "threshold", "duration_minutes", "drills_count", "severity", "enabled", "email_to",
            "webhooks", "description", "condition", "created_at",
        ]  # fmt: skip
        read_only_fields = ["created_at"]


class AlarmEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", read_only=True, default=None)

    class Meta:
        model = AlarmEvent
        fields = ["at", "action", "actor", "note"]
        read_only_fields = fields


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["number", "at", "ok", "response_code", "error", "duration_ms"]
        read_only_fields = fields


class DeliverySerializer(serializers.ModelSerializer):
    endpoint_name = serializers.CharField(source="endpoint.name", read_only=True, default=None)
    attempt_log = DeliveryAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = [
            "id", "alarm", "channel", "endpoint", "endpoint_name", "recipients", "status", "attempts", "max_attempts",
            "response_code", "last_error", "created_at", "next_retry_at", "delivered_at", "attempt_log",
        ]  # fmt: skip
        read_only_fields = fields


class AlarmSerializer(serializers.ModelSerializer):
    rule_name = serializers.CharField(source="rule.name", read_only=True)
    acknowledged_by = serializers.CharField(source="acknowledged_by.username", read_only=True, default=None)
    cleared_by = serializers.CharField(source="cleared_by.username", read_only=True, default=None)

    class Meta:
        model = Alarm
        fields = [
            "id", "rule", "rule_name", "key", "severity", "state", "object_type", "object_id", "object_name",
            "object_url", "message", "value", "first_seen", "last_seen", "acknowledged_by", "acknowledged_at",
            "cleared_by", "cleared_at",
        ]  # fmt: skip
        read_only_fields = fields


class AlarmDetailSerializer(AlarmSerializer):
    events = AlarmEventSerializer(many=True, read_only=True)
    deliveries = DeliverySerializer(many=True, read_only=True)

    class Meta(AlarmSerializer.Meta):
        fields = [*AlarmSerializer.Meta.fields, "events", "deliveries"]
        read_only_fields = fields


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")
