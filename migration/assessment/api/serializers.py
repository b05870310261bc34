from rest_framework import serializers

from inventory.models import Cluster, Estate, Site
from migration.assessment.choices import ScopeKind
from migration.assessment.models import Assessment, AssessmentRow

# Status and mode fields are plain strings in the schema (one enum per field name keeps drf-spectacular's component
# names free of collisions with other apps' `status` and `mode`).
STATUSES = "queued | running | done | failed"
MODES = "live | live_storage | cold | blocked"


class ScopeSerializer(serializers.Serializer):
    """What to assess: `{"kind": "site", "site": ID}`, `{"kind": "cluster", "cluster": ID}`,
    `{"kind": "estate", "estate": ID}` or `{"kind": "filter", "query": "kind=vm&site=1"}` (the workloads table's
    filters)."""

    kind = serializers.ChoiceField(choices=ScopeKind.choices)
    site = serializers.PrimaryKeyRelatedField(queryset=Site.objects.all(), required=False)
    cluster = serializers.PrimaryKeyRelatedField(queryset=Cluster.objects.select_related("site"), required=False)
    estate = serializers.PrimaryKeyRelatedField(queryset=Estate.objects.all(), required=False)
    query = serializers.CharField(required=False, allow_blank=True, max_length=1000)

    def validate(self, attrs):
        needed = {ScopeKind.SITE: "site", ScopeKind.CLUSTER: "cluster", ScopeKind.ESTATE: "estate"}
        name = needed.get(attrs["kind"])
        if name and attrs.get(name) is None:
            raise serializers.ValidationError({name: f"A {attrs['kind']} scope names its {name} (an id)."})
        return attrs


class ScenarioSerializer(serializers.Serializer):
    """The link and the plan. Every field is optional: missing ones come from the real link between the scope's
    site and the destination (bandwidth and RTT must be given when there is no such link)."""

    bandwidth_mbit = serializers.IntegerField(min_value=1, max_value=1_000_000, required=False)
    rtt_ms = serializers.FloatField(min_value=0, max_value=1000, required=False)
    loss_percent = serializers.FloatField(min_value=0, max_value=99, required=False)
    compression_ratio = serializers.FloatField(min_value=1, max_value=10, required=False)
    encrypted = serializers.BooleanField(required=False)
    max_concurrent = serializers.IntegerField(min_value=1, max_value=256, required=False)
    max_downtime_s = serializers.FloatField(min_value=0.001, max_value=600, required=False)
    window_hours = serializers.FloatField(min_value=0.1, max_value=336, required=False, allow_null=True)
    accept_readdressing = serializers.BooleanField(required=False)


class AssessmentRequestSerializer(serializers.Serializer):
    scope = ScopeSerializer()
    destination = serializers.PrimaryKeyRelatedField(queryset=Site.objects.all())
    scenario = ScenarioSerializer(required=False)
    name = serializers.CharField(required=False, allow_blank=True, max_length=120)
    dirty_rate_mb_s = serializers.DictField(
        child=serializers.FloatField(min_value=0, max_value=100_000), required=False,
        help_text="Edited dirty-rate assumptions, MB/s per class (database, cache, web, app, build, infra, windows, "
        "linux).",
    )  # fmt: skip


class AssessmentErrorsSerializer(serializers.Serializer):
    errors = serializers.ListField(child=serializers.CharField(), help_text="Each problem as a sentence.")
    field_errors = serializers.DictField(child=serializers.CharField(), help_text="The same, keyed by the field.")


class AssessmentRowSerializer(serializers.ModelSerializer):
    mode = serializers.CharField(read_only=True, help_text=MODES)
    dirty_source = serializers.CharField(read_only=True, help_text="override | telemetry | inventory | default")
    duration_s = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = AssessmentRow
        fields = [
            "order", "workload", "workload_name", "kind", "power_state", "guest_os", "source_site", "source_host",
            "destination_host", "vcpus", "memory_bytes", "disk_bytes", "dirty_rate_bps", "dirty_source",
            "dirty_class", "mode", "errors", "warnings", "wave", "start_s", "end_s", "duration_s", "downtime_s",
            "converged", "outcome", "rounds", "bytes_sent", "rate_bps", "limit", "limit_sentence", "reason",
            "over_window",
        ]  # fmt: skip
        read_only_fields = fields


class AssessmentSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True, help_text=STATUSES)
    scope_kind = serializers.CharField(read_only=True, help_text="site | cluster | estate | filter")
    destination_name = serializers.CharField(source="destination.name", read_only=True)
    percent = serializers.FloatField(read_only=True)
    url = serializers.CharField(source="get_absolute_url", read_only=True)

    class Meta:
        model = Assessment
        fields = [
            "id", "url", "name", "status", "percent", "progress_done", "progress_total", "error", "scope_kind",
            "scope_site", "scope_cluster", "scope_estate", "scope_query", "scope_label", "destination",
            "destination_name", "bandwidth_mbit", "rtt_ms", "loss_percent", "compression_ratio", "encrypted",
            "max_concurrent", "max_downtime_s", "window_hours", "accept_readdressing", "link_note", "overrides",
            "based_on", "created_by",
            "created_at", "started_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields


class AssessmentDetailSerializer(AssessmentSerializer):
    summary = serializers.JSONField(read_only=True)
    assumptions = serializers.JSONField(read_only=True)
    rows = AssessmentRowSerializer(many=True, read_only=True)

    class Meta(AssessmentSerializer.Meta):
        fields = [*AssessmentSerializer.Meta.fields, "summary", "assumptions", "rows"]
        read_only_fields = fields
