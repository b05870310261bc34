"""Move groups in the admin, as records: a group is created, rescheduled and cancelled on its pages and through the
API (which run the pre-checks, take the written override reason and start it exactly once), so here it is read,
searched and filtered, with its members beside it, and never edited behind the services' back."""

from django.contrib import admin

from migration.moves.models import MoveGroup, MoveGroupMember


class MoveGroupMemberInline(admin.TabularInline):
    model = MoveGroupMember
    extra = 0
    can_delete = False
    fields = ["position", "workload", "state", "migration", "error"]
    readonly_fields = fields
    ordering = ["position"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(MoveGroup)
class MoveGroupAdmin(admin.ModelAdmin):
    list_display = ["pk", "name", "state", "destination_site", "destination_host", "concurrency", "start_at"]
    list_filter = ["state", "on_window_close", "destination_site"]
    search_fields = ["name", "override_reason", "members__workload__name"]
    list_select_related = ["destination_site", "destination_host"]
    date_hierarchy = "start_at"
    inlines = [MoveGroupMemberInline]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in MoveGroup._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
