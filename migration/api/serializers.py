from rest_framework import serializers

from hybridcloud.core.api_errors import ErrorsSerializer as ErrorsSerializer  # re-exported: one "Errors" for the API
from inventory.models import Host, Site, Workload
from migration.choices import MigrationPolicy
from migration.engine import DEFAULT_DOWNTIME_LIMIT_S
from migration.models import Migration, MigrationEvent, MigrationRound
from migration.selectors import QueueSpot, migration_queue


class MoveRequestSerializer(serializers.Serializer):
    """A proposed move: a workload and a destination host, or a site to let placement choose."""

    workload = serializers.PrimaryKeyRelatedField(queryset=Workload.objects.all())
    destination_host = serializers.PrimaryKeyRelatedField(queryset=Host.objects.all(), required=False, allow_null=True)
    destination_site = serializers.PrimaryKeyRelatedField(queryset=Site.objects.all(), required=False, allow_null=True)
    policy = serializers.ChoiceField(choices=MigrationPolicy.choices, default=MigrationPolicy.THROTTLE)
    max_downtime_s = serializers.FloatField(min_value=0.001, max_value=600, default=DEFAULT_DOWNTIME_LIMIT_S)
    accept_readdressing = serializers.BooleanField(default=False)
    override_reason = serializers.CharField(required=False, allow_blank=True, default="")
    reason = serializers.CharField(required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if not attrs.get("destination_host") and not attrs.get("destination_site"):
            raise serializers.ValidationError("Give a destination_host or a destination_site.")
        return attrs


class PredictionSerializer(serializers.Serializer):
    rounds = serializers.IntegerField()
    total_time_s = serializers.FloatField(help_text="Best estimate, simulated seconds.")
    p10_total_time_s = serializers.FloatField(required=False, help_text="Low end of the likely range.")
    p90_total_time_s = serializers.FloatField(required=False, help_text="High end of the likely range.")
    downtime_s = serializers.FloatField()
    limit = serializers.CharField(
        required=False, allow_blank=True, help_text="link, nic, window, loss, codec or cipher."
    )
    limit_sentence = serializers.CharField(
        required=False, allow_blank=True, help_text="That limit with its arithmetic."
    )
    advice = serializers.ListField(
        child=serializers.CharField(allow_blank=True), required=False, help_text="What would lift it."
    )


class PrecheckResponseSerializer(serializers.Serializer):
    errors = serializers.ListField(child=serializers.CharField())
    warnings = serializers.ListField(child=serializers.CharField())
    prediction = PredictionSerializer(required=False)
    suggestions = serializers.ListField(child=serializers.DictField(), required=False)
    kind = serializers.CharField()
    destination_host = serializers.IntegerField(allow_null=True)
    placement_reason = serializers.CharField(allow_blank=True)


class RoundSerializer(serializers.ModelSerializer):
    class Meta:
        model = MigrationRound
        fields = ["index", "start_s", "duration_s", "bytes", "dirty_rate_bps", "throttle", "dirtied_bytes"]


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = MigrationEvent
        fields = ["at", "sim_time_s", "kind", "state", "message"]


class MigrationSerializer(serializers.ModelSerializer):
    workload_name = serializers.CharField(source="workload.name", read_only=True)
    source_host_name = serializers.CharField(source="source_host.name", read_only=True)
    destination_host_name = serializers.CharField(source="destination_host.name", read_only=True)
    source_site = serializers.IntegerField(source="source_host.cluster.site_id", read_only=True)
    destination_site = serializers.IntegerField(source="destination_host.cluster.site_id", read_only=True)
    requested_by = serializers.CharField(source="requested_by.username", read_only=True, default=None)
    percent = serializers.FloatField(read_only=True)
    url = serializers.CharField(source="get_absolute_url", read_only=True)
    queue_position = serializers.SerializerMethodField(
        help_text="Place in its link's queue (1 = next), while queued; null otherwise."
    )
    estimated_start_at = serializers.SerializerMethodField(
        help_text="When a queued move should start, from the running moves' predicted remaining times; null otherwise."
    )
    latest_start_at = serializers.SerializerMethodField(
        help_text="The same estimate from the predictions' p90 (the late end of its range); null unless queued."
    )

    def _spot(self, obj) -> QueueSpot | None:
        """The queue is read once per response (three queries), for every queued migration in it."""
        if "queue" not in self.context:
            self.context["queue"] = migration_queue()
        return self.context["queue"].get(obj.pk)

    def get_queue_position(self, obj) -> int | None:
        spot = self._spot(obj)
        return spot.position if spot else None

    def get_estimated_start_at(self, obj) -> str | None:
        spot = self._spot(obj)
        return spot.estimated_start_at.isoformat() if spot else None

    def get_latest_start_at(self, obj) -> str | None:
        spot = self._spot(obj)
        return spot.latest_start_at.isoformat() if spot else None

    class Meta:
        model = Migration
        fields = [
            "id", "url", "workload", "workload_name", "kind", "state", "phase", "policy", "max_downtime_s",
            "source_host", "source_host_name", "destination_host", "destination_host_name", "source_site",
            "destination_site", "source_datastore", "destination_datastore", "requested_by", "reason", "warnings",
            "override_reason", "created_at", "started_at", "precopy_started_at", "switchover_started_at",
            "finished_at", "prediction", "percent", "rounds_count", "bytes_sent", "memory_sent_bytes",
            "dirty_remaining_bytes", "transfer_rate_bps", "downtime_s", "total_time_s", "outcome", "outcome_reason",
            "seq", "predicted_total_time_s", "predicted_p10_s", "predicted_p90_s", "rate_limit", "rate_limit_sentence",
            "queue_position", "estimated_start_at", "latest_start_at",
        ]  # fmt: skip
        read_only_fields = fields


class MigrationDetailSerializer(MigrationSerializer):
    rounds = RoundSerializer(many=True, read_only=True)
    events = EventSerializer(many=True, read_only=True)
    timings = serializers.SerializerMethodField()

    class Meta(MigrationSerializer.Meta):
        fields = [*MigrationSerializer.Meta.fields, "timings", "rounds", "events"]
        read_only_fields = fields

    def get_timings(self, obj) -> dict:
        """Seconds (wall clock) spent in each phase so far."""

        def span(a, b):
            return (b - a).total_seconds() if a and b else None

        return {
            "waiting_s": span(obj.created_at, obj.started_at),
            "precopy_s": span(obj.precopy_started_at, obj.switchover_started_at or obj.finished_at),
            "switchover_s": span(obj.switchover_started_at, obj.finished_at),
            "total_s": span(obj.started_at or obj.created_at, obj.finished_at),
        }
