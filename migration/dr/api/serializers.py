from rest_framework import serializers

from migration.dr.models import (
    DrillRun,
    DrillStep,
    DrillWorkloadResult,
    ProtectedWorkload,
    ProtectionGroup,
    RecoveryPlan,
)


class ProtectedWorkloadSerializer(serializers.ModelSerializer):
    workload_name = serializers.CharField(source="workload.name", read_only=True)
    kind = serializers.CharField(source="workload.kind", read_only=True)

    class Meta:
        model = ProtectedWorkload
        fields = ["workload", "workload_name", "kind", "rpo_s", "last_replicated_at", "recovery_segment", "recovery_ip"]


class ProtectionGroupSerializer(serializers.ModelSerializer):
    workloads = ProtectedWorkloadSerializer(source="members", many=True, read_only=True)

    class Meta:
        model = ProtectionGroup
        fields = ["id", "name", "priority", "workloads"]


class RecoveryPlanListSerializer(serializers.ModelSerializer):
    protected_site_name = serializers.CharField(source="protected_site.name", read_only=True)
    recovery_site_name = serializers.CharField(source="recovery_site.name", read_only=True)
    schedule = serializers.SerializerMethodField()

    class Meta:
        model = RecoveryPlan
        fields = [
            "id",
            "name",
            "protected_site",
            "protected_site_name",
            "recovery_site",
            "recovery_site_name",
            "target_rto_s",
            "enabled",
            "description",
            "schedule",
        ]

    def get_schedule(self, plan: RecoveryPlan) -> dict | None:
        task = plan.schedule
        if task is None:
            return None
        return {"name": task.name, "enabled": task.enabled, "crontab": str(task.crontab) if task.crontab else None}


class RecoveryPlanDetailSerializer(RecoveryPlanListSerializer):
    groups = ProtectionGroupSerializer(many=True, read_only=True)

    class Meta(RecoveryPlanListSerializer.Meta):
        fields = [*RecoveryPlanListSerializer.Meta.fields, "groups"]


class DrillStepSerializer(serializers.ModelSerializer):
    class Meta:
        model = DrillStep
        fields = [
            "order",
            "kind",
            "name",
            "state",
            "reason",
            "sim_start_s",
            "sim_duration_s",
            "wall_duration_s",
            "started_at",
            "finished_at",
        ]


class DrillWorkloadResultSerializer(serializers.ModelSerializer):
    class Meta:
        model = DrillWorkloadResult
        fields = [
            "workload",
            "workload_name",
            "group_name",
            "priority",
            "state",
            "reason",
            "rpo_s",
            "replication_lag_s",
            "rpo_met",
            "data_loss_window_s",
            "pending_bytes",
            "transfer_s",
            "boot_s",
            "up_at_s",
            "recovery_time_s",
            "recovered_on",
            "test_ip",
        ]


class DrillRunSerializer(serializers.ModelSerializer):
    plan_name = serializers.CharField(source="plan.name", read_only=True)

    class Meta:
        model = DrillRun
        fields = [
            "id",
            "plan",
            "plan_name",
            "kind",
            "trigger",
            "state",
            "verdict",
            "reason",
            "test_network",
            "target_rto_s",
            "measured_rto_s",
            "created_at",
            "started_at",
            "finished_at",
        ]


class DrillRunDetailSerializer(DrillRunSerializer):
    steps = DrillStepSerializer(many=True, read_only=True)
    results = DrillWorkloadResultSerializer(many=True, read_only=True)

    class Meta(DrillRunSerializer.Meta):
        fields = [*DrillRunSerializer.Meta.fields, "steps", "results"]


class PlannedMigrationRequestSerializer(serializers.Serializer):
    override_reason = serializers.CharField(
        required=False, allow_blank=True, max_length=1000,
        help_text="Why the pre-checks' warnings are acceptable; required when there are any (400 lists them). "
        "Kept in the audit trail.",
    )  # fmt: skip
