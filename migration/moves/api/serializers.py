from rest_framework import serializers

from inventory.models import Host, Site
from migration.choices import MigrationPolicy
from migration.engine import DEFAULT_DOWNTIME_LIMIT_S
from migration.moves.choices import WindowClose
from migration.moves.models import MAX_CONCURRENCY, MoveGroup
from migration.moves.selectors import move_group_progress


class SelectionSerializer(serializers.Serializer):
    """Which workloads and where: ticked ids, or `query` (the workloads table's filter: every match)."""

    workloads = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1), required=False, max_length=1000
    )
    query = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    destination_host = serializers.PrimaryKeyRelatedField(queryset=Host.objects.all(), required=False, allow_null=True)
    destination_site = serializers.PrimaryKeyRelatedField(queryset=Site.objects.all(), required=False, allow_null=True)
    policy = serializers.ChoiceField(choices=MigrationPolicy.choices, default=MigrationPolicy.THROTTLE)
    max_downtime_s = serializers.FloatField(min_value=0.001, max_value=600, default=DEFAULT_DOWNTIME_LIMIT_S)
    accept_readdressing = serializers.BooleanField(default=False)

    def validate(self, attrs):
        if not attrs.get("workloads") and attrs.get("query") is None:
            raise serializers.ValidationError("Give workloads (a list of ids) or query (a workloads filter).")
        if not attrs.get("destination_host") and not attrs.get("destination_site"):
            raise serializers.ValidationError("Give a destination_host or a destination_site.")
        return attrs


class MoveGroupCreateSerializer(SelectionSerializer):
    name = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    concurrency = serializers.IntegerField(min_value=1, max_value=MAX_CONCURRENCY, default=4)
    override_reason = serializers.CharField(required=False, allow_blank=True, default="")
    leave_out_blocked = serializers.BooleanField(default=False)
    start_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    window_start = serializers.DateTimeField(required=False, allow_null=True, default=None)
    window_end = serializers.DateTimeField(required=False, allow_null=True, default=None)
    on_window_close = serializers.ChoiceField(choices=WindowClose.choices, default=WindowClose.ABORT)


class MoveGroupScheduleSerializer(serializers.Serializer):
    start_at = serializers.DateTimeField()
    window_start = serializers.DateTimeField(required=False, allow_null=True, default=None)
    window_end = serializers.DateTimeField(required=False, allow_null=True, default=None)
    on_window_close = serializers.ChoiceField(choices=WindowClose.choices, required=False)
    concurrency = serializers.IntegerField(min_value=1, max_value=MAX_CONCURRENCY, required=False)


class GroupedSentenceSerializer(serializers.Serializer):
    message = serializers.CharField(help_text="The sentence, with {workload} where each workload's name goes.")
    workloads = serializers.ListField(child=serializers.DictField())


class GroupPrecheckSerializer(serializers.Serializer):
    ready = serializers.ListField(child=serializers.IntegerField())
    with_warnings = serializers.ListField(child=serializers.IntegerField())
    blocked = serializers.ListField(child=serializers.IntegerField())
    errors = GroupedSentenceSerializer(many=True)
    warnings = GroupedSentenceSerializer(many=True)


class MoveGroupSerializer(serializers.ModelSerializer):
    url = serializers.URLField(source="get_absolute_url", read_only=True)
    member_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = MoveGroup
        fields = [
            "id", "url", "name", "state", "destination_host", "destination_site", "concurrency", "policy",
            "max_downtime_s", "accept_readdressing", "override_reason", "warnings", "left_out", "start_at",
            "window_start", "window_end", "on_window_close", "start_key", "created_by", "created_at", "started_at",
            "finished_at", "member_count",
        ]  # fmt: skip
        read_only_fields = fields


class MemberRowSerializer(serializers.Serializer):
    member_id = serializers.IntegerField()
    workload_id = serializers.IntegerField()
    workload = serializers.CharField()
    state = serializers.CharField(help_text="The migration's state once started, else the member's.")
    member_state = serializers.CharField()
    percent = serializers.FloatField()
    migration_id = serializers.IntegerField(allow_null=True)
    migration_url = serializers.CharField(allow_null=True)
    destination_host = serializers.CharField()
    held = serializers.BooleanField(help_text="Pre-copy keeps syncing; the switchover waits for the window.")
    reason = serializers.CharField()


class MoveGroupDetailSerializer(MoveGroupSerializer):
    progress = serializers.SerializerMethodField()

    class Meta(MoveGroupSerializer.Meta):
        fields = [*MoveGroupSerializer.Meta.fields, "progress"]
        read_only_fields = fields

    def get_progress(self, group) -> dict:
        return move_group_progress(group=group)
