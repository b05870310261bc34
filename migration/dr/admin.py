from django.contrib import admin

from migration.dr.models import (
    DrillRun,
    DrillStep,
    DrillWorkloadResult,
    ProtectedWorkload,
    ProtectionGroup,
    RecoveryPlan,
)


class ProtectionGroupInline(admin.TabularInline):
    model = ProtectionGroup
    extra = 0


class ProtectedWorkloadInline(admin.TabularInline):
    model = ProtectedWorkload
    extra = 0
    autocomplete_fields = ["workload"]
    fields = ["group", "workload", "rpo_s", "last_replicated_at", "recovery_segment", "recovery_ip"]

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        group_field = formset.form.base_fields.get("group")
        if group_field is not None:
            group_field.queryset = ProtectionGroup.objects.filter(plan=obj) if obj else ProtectionGroup.objects.none()
        return formset


@admin.register(RecoveryPlan)
class RecoveryPlanAdmin(admin.ModelAdmin):
    list_display = ["name", "protected_site", "recovery_site", "target_rto_s", "enabled", "schedule"]
    list_filter = ["enabled", "protected_site", "recovery_site"]
    search_fields = ["name", "description"]
    list_select_related = ["protected_site", "recovery_site", "schedule"]
    inlines = [ProtectionGroupInline, ProtectedWorkloadInline]
    fieldsets = [
        (None, {"fields": ["name", "protected_site", "recovery_site", "target_rto_s", "description", "enabled"]}),
        (
            "Drill schedule",
            {
                "fields": ["schedule"],
                "description": "A periodic task running migration.dr.tasks.scheduled_drill with "
                "{\"plan_id\": <this plan's id>}; edit its timing under Periodic tasks, or from the plan's page.",
            },
        ),
    ]


class DrillStepInline(admin.TabularInline):
    model = DrillStep
    extra = 0
    can_delete = False
    fields = ["order", "name", "state", "reason", "sim_start_s", "sim_duration_s", "wall_duration_s"]
    readonly_fields = fields


class DrillWorkloadResultInline(admin.TabularInline):
    model = DrillWorkloadResult
    extra = 0
    can_delete = False
    fields = ["workload_name", "group_name", "state", "up_at_s", "rpo_met", "recovered_on", "test_ip", "reason"]
    readonly_fields = fields


@admin.register(DrillRun)
class DrillRunAdmin(admin.ModelAdmin):
    list_display = ["pk", "plan", "kind", "trigger", "state", "verdict", "measured_rto_s", "started_at"]
    list_filter = ["state", "verdict", "trigger", "plan"]
    list_select_related = ["plan"]
    readonly_fields = [f.name for f in DrillRun._meta.fields]
    inlines = [DrillStepInline, DrillWorkloadResultInline]

    def has_add_permission(self, request) -> bool:
        return False  # drills start from the plan's page, the API, the schedule or run_drill
