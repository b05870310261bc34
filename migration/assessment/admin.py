"""Assessments in the admin: read-only records (made through the pages and the API)."""

from django.contrib import admin

from migration.assessment.models import Assessment


@admin.register(Assessment)
class AssessmentAdmin(admin.ModelAdmin):
    list_display = ["__str__", "scope_label", "destination", "bandwidth_mbit", "status", "created_by", "created_at"]
    list_filter = ["status", "destination"]
    readonly_fields = [f.name for f in Assessment._meta.fields]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
