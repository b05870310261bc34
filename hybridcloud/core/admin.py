from django.contrib import admin

from hybridcloud.core.models import AuditEntry


class ReadOnlyInline(admin.TabularInline):
    """An inline of records made elsewhere (events, attempts, items): shown, never added, changed or deleted here."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the trail is append-only, even for superusers."""

    list_display = ("at", "actor_label", "action", "object_type", "object_repr", "via", "source_ip")
    list_filter = ("action", "via", "object_type")
    search_fields = ("actor_label", "action", "object_repr", "message")
    date_hierarchy = "at"
    list_select_related = ("object_type",)
    list_per_page = 50

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
