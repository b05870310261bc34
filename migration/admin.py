from django.contrib import admin

from migration.models import Migration, MigrationEvent, MigrationRound


class MigrationRoundInline(admin.TabularInline):
    model = MigrationRound
    extra = 0
    can_delete = False
    readonly_fields = ["index", "start_s", "duration_s", "bytes", "dirty_rate_bps", "throttle", "dirtied_bytes"]


class MigrationEventInline(admin.TabularInline):
    model = MigrationEvent
    extra = 0
    can_delete = False
    readonly_fields = ["at", "sim_time_s", "kind", "state", "message"]


@admin.register(Migration)
class MigrationAdmin(admin.ModelAdmin):
    """Read-only: migrations change state through the driver and the services, never by hand."""

    list_display = ["id", "workload", "kind", "state", "source_host", "destination_host", "created_at", "outcome"]
    list_filter = ["state", "kind", "outcome"]
    search_fields = ["workload__name", "source_host__name", "destination_host__name"]
    list_select_related = ["workload", "source_host", "destination_host"]
    inlines = [MigrationRoundInline, MigrationEventInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
