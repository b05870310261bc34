"""Capacity in the admin: the settings are edited here; samples, proposals and evacuations are read-only records
(they are made by the sampler and the services, and changed only through the pages and the API)."""

from django.contrib import admin

from hybridcloud.core.admin import ReadOnlyInline
from migration.capacity.models import (
    CapacitySettings,
    Evacuation,
    EvacuationItem,
    Recommendation,
    RecommendedMove,
    UtilisationSample,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CapacitySettings)
class CapacitySettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "threshold_cpu_pct", "threshold_mem_pct", "workload_sample_every",
                    "raw_retention_days", "hourly_retention_days"]  # fmt: skip
    fieldsets = [
        ("Thresholds", {"fields": ["threshold_cpu_pct", "threshold_mem_pct"]}),
        ("Telemetry", {"fields": ["seed", "workload_sample_every"]}),
        ("Retention", {"fields": ["raw_retention_days", "hourly_retention_days", "workload_retention_days"]}),
    ]

    def has_add_permission(self, request) -> bool:
        # One row (pk 1): its change page edits the defaults until they are first saved.
        return False

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None and str(object_id) == "1":
            return CapacitySettings.get()
        return obj

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(UtilisationSample)
class UtilisationSampleAdmin(ReadOnlyAdmin):
    list_display = ["scope", "object_id", "at", "hourly", "cpu_pct", "mem_pct"]
    list_filter = ["scope", "hourly"]
    date_hierarchy = "at"
    show_full_result_count = False


class RecommendedMoveInline(ReadOnlyInline):
    model = RecommendedMove
    fields = ["workload", "source_host", "destination_host", "predicted_time_s", "predicted_downtime_s",
              "cpu_cores", "migration", "outcome"]  # fmt: skip
    readonly_fields = fields


@admin.register(Recommendation)
class RecommendationAdmin(ReadOnlyAdmin):
    list_display = ["id", "scope", "site", "host", "state", "brings_under", "created_at", "decided_by"]
    list_filter = ["state", "scope", "site"]
    list_select_related = ["site", "host", "decided_by"]
    search_fields = ["summary"]
    inlines = [RecommendedMoveInline]


class EvacuationItemInline(ReadOnlyInline):
    model = EvacuationItem
    fields = ["order", "workload", "source_host", "destination_host", "state", "migration", "reason",
              "predicted_end_s", "over_window"]  # fmt: skip
    readonly_fields = fields


@admin.register(Evacuation)
class EvacuationAdmin(ReadOnlyAdmin):
    list_display = ["id", "scope", "host", "site", "destination_site", "state", "created_by", "created_at",
                    "finished_at"]  # fmt: skip
    list_filter = ["state", "scope"]
    list_select_related = ["host", "site", "destination_site", "created_by"]
    inlines = [EvacuationItemInline]
