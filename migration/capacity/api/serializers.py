from django.utils import timezone
from rest_framework import serializers

from inventory.models import Host, Site
from migration.capacity.choices import Scope
from migration.capacity.models import Evacuation, EvacuationItem, Recommendation, RecommendedMove, UtilisationSample

# Scope and state fields are plain strings in the schema: several models have a `scope` or a `state` with other
# choices, and one enum per field name keeps drf-spectacular free of naming collisions.
SCOPES = "workload | host | site"


class SampleQuerySerializer(serializers.Serializer):
    """Filters of the samples list (query string)."""

    scope = serializers.ChoiceField(choices=Scope.choices, required=False)
    object = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)

    def validate(self, attrs):
        # An object id means nothing without its scope (a host and a site may share an id).
        if attrs.get("object") is not None and not attrs.get("scope"):
            raise serializers.ValidationError("Give the scope (workload, host or site) of the object.")
        if attrs.get("since") and attrs.get("until") and attrs["until"] < attrs["since"]:
            raise serializers.ValidationError("`until` comes before `since`.")
        return attrs


class UtilisationSampleSerializer(serializers.ModelSerializer):
    scope = serializers.CharField(read_only=True, help_text=SCOPES)

    class Meta:
        model = UtilisationSample
        fields = ["scope", "object_id", "at", "hourly", "cpu_pct", "mem_pct"]
        read_only_fields = fields


class RecommendedMoveSerializer(serializers.ModelSerializer):
    workload_name = serializers.CharField(source="workload.name", read_only=True)
    source_host_name = serializers.CharField(source="source_host.name", read_only=True)
    destination_host_name = serializers.CharField(source="destination_host.name", read_only=True)
    destination_site = serializers.IntegerField(source="destination_host.cluster.site_id", read_only=True)

    class Meta:
        model = RecommendedMove
        fields = [
            "id", "workload", "workload_name", "source_host", "source_host_name", "destination_host",
            "destination_host_name", "destination_site", "predicted_time_s", "predicted_downtime_s", "cpu_cores",
            "memory_used_bytes", "warnings", "placement_note", "migration", "outcome",
        ]  # fmt: skip
        read_only_fields = fields


class RecommendationSerializer(serializers.ModelSerializer):
    scope = serializers.CharField(read_only=True, help_text="host | site")
    state = serializers.CharField(read_only=True, help_text="open | applied | dismissed")
    site_name = serializers.CharField(source="site.name", read_only=True)
    host_name = serializers.CharField(source="host.name", read_only=True, default=None, allow_null=True)
    moves_count = serializers.IntegerField(read_only=True)
    url = serializers.CharField(source="get_absolute_url", read_only=True)

    class Meta:
        model = Recommendation
        fields = [
            "id", "url", "scope", "site", "site_name", "host", "host_name", "state", "created_at", "basis_at",
            "threshold_cpu_pct", "threshold_mem_pct", "summary", "brings_under", "moves_count", "decided_by",
            "decided_at",
        ]  # fmt: skip
        read_only_fields = fields


class RecommendationDetailSerializer(RecommendationSerializer):
    before = serializers.JSONField(read_only=True)
    after = serializers.JSONField(read_only=True)
    result = serializers.JSONField(read_only=True)
    moves = RecommendedMoveSerializer(many=True, read_only=True)

    class Meta(RecommendationSerializer.Meta):
        fields = [*RecommendationSerializer.Meta.fields, "before", "after", "result", "moves"]
        read_only_fields = fields


class ApplyResultSerializer(serializers.Serializer):
    workload = serializers.CharField()
    outcome = serializers.CharField(help_text="started | queued | refused")
    migration = serializers.IntegerField(required=False)
    errors = serializers.ListField(child=serializers.CharField(), required=False)


class ApplyResponseSerializer(serializers.Serializer):
    results = ApplyResultSerializer(many=True)
    recommendation = RecommendationDetailSerializer()


class EvacuationRequestSerializer(serializers.Serializer):
    """A host to put in maintenance, or a site to move to `destination_site`; an optional maintenance window."""

    host = serializers.PrimaryKeyRelatedField(queryset=Host.objects.select_related("cluster__site"), required=False)
    site = serializers.PrimaryKeyRelatedField(queryset=Site.objects.all(), required=False)
    destination_site = serializers.PrimaryKeyRelatedField(queryset=Site.objects.all(), required=False)
    window_start = serializers.DateTimeField(required=False, allow_null=True)
    window_end = serializers.DateTimeField(required=False, allow_null=True)
    override_reason = serializers.CharField(
        required=False, allow_blank=True, max_length=1000,
        help_text="Why the pre-check warnings of the moves (see the preview's `warnings`) are acceptable; required "
        "when there are any (400 with the warnings listed otherwise). Kept in the audit trail and on each migration.",
    )  # fmt: skip

    def validate(self, attrs):
        host, site, destination = attrs.get("host"), attrs.get("site"), attrs.get("destination_site")
        # Exactly one subject.
        if (host is None) == (site is None):
            raise serializers.ValidationError("Give either a host or a site to evacuate.")
        # A site goes somewhere else; a host's destinations are chosen by the planner.
        if site is not None and destination is None:
            raise serializers.ValidationError("A site evacuation needs a destination_site.")
        if site is not None and destination.pk == site.pk:
            raise serializers.ValidationError("The destination_site must be another site.")
        if host is not None and destination is not None:
            raise serializers.ValidationError("A host evacuation chooses its destinations; omit destination_site.")
        start, end = attrs.get("window_start"), attrs.get("window_end")
        if start and end and end <= start:
            raise serializers.ValidationError("The window must end after it starts.")
        if end and end <= timezone.now():
            raise serializers.ValidationError("The window ends in the past.")
        return attrs


class EvacuationItemSerializer(serializers.ModelSerializer):
    state = serializers.CharField(read_only=True, help_text="pending | migrating | moved | blocked | failed")
    workload_name = serializers.CharField(source="workload.name", read_only=True)
    source_host_name = serializers.CharField(source="source_host.name", read_only=True)
    destination_host_name = serializers.CharField(
        source="destination_host.name", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = EvacuationItem
        fields = [
            "order", "workload", "workload_name", "source_host", "source_host_name", "destination_host",
            "destination_host_name", "state", "migration", "reason", "warnings", "predicted_start_s",
            "predicted_end_s", "predicted_downtime_s", "over_window",
        ]  # fmt: skip
        read_only_fields = fields


class EvacuationSerializer(serializers.ModelSerializer):
    scope = serializers.CharField(read_only=True, help_text="host | site")
    state = serializers.CharField(read_only=True, help_text="running | completed | partial | failed")
    subject_name = serializers.CharField(read_only=True)
    url = serializers.CharField(source="get_absolute_url", read_only=True)
    prediction = serializers.JSONField(read_only=True)

    class Meta:
        model = Evacuation
        fields = [
            "id", "url", "scope", "host", "site", "destination_site", "subject_name", "state", "created_by",
            "created_at", "finished_at", "window_start", "window_end", "prediction", "message",
        ]  # fmt: skip
        read_only_fields = fields


class EvacuationDetailSerializer(EvacuationSerializer):
    items = EvacuationItemSerializer(many=True, read_only=True)

    class Meta(EvacuationSerializer.Meta):
        fields = [*EvacuationSerializer.Meta.fields, "items"]
        read_only_fields = fields


class PlannedItemSerializer(serializers.Serializer):
    workload = serializers.IntegerField()
    workload_name = serializers.CharField()
    source_host = serializers.IntegerField()
    destination_host = serializers.IntegerField(allow_null=True)
    destination_host_name = serializers.CharField(allow_null=True)
    reason = serializers.CharField(
        allow_blank=True,
        help_text="Why it cannot move, when it cannot; else the placement rules that decided its destination.",
    )
    predicted_start_s = serializers.FloatField(allow_null=True)
    predicted_end_s = serializers.FloatField(allow_null=True)
    predicted_downtime_s = serializers.FloatField(allow_null=True)
    over_window = serializers.BooleanField()
    warnings = serializers.ListField(child=serializers.CharField(), help_text="The pre-checks' warnings for its move.")


class EvacuationPreviewSerializer(serializers.Serializer):
    scope = serializers.CharField(help_text="host | site")
    site = serializers.IntegerField()
    host = serializers.IntegerField(allow_null=True)
    destination_site = serializers.IntegerField(allow_null=True)
    starts_at = serializers.DateTimeField()
    makespan_s = serializers.FloatField(help_text="The wave's predicted duration (plan_wave), seconds.")
    fits_window = serializers.BooleanField()
    window = serializers.JSONField(help_text="has_window, fits, over (item indexes), available_s, ends_at.")
    movable = serializers.IntegerField()
    blocked = serializers.IntegerField()
    items = PlannedItemSerializer(many=True)
    warnings = serializers.ListField(
        child=serializers.CharField(), help_text="Every move's warnings; starting needs an override_reason when any."
    )
