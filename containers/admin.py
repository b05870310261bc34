from django.contrib import admin

from containers.models import ContainerCluster, ContainerEvent, ContainerHost, ContainerSpec, Image, Node, Pod


@admin.register(ContainerHost)
class ContainerHostAdmin(admin.ModelAdmin):
    list_display = ["name", "cluster", "cpu_limit", "memory_limit_bytes", "segment", "endpoint"]
    list_select_related = ["cluster__site", "segment"]
    search_fields = ["name", "endpoint"]


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["repository", "tag", "digest", "size_bytes", "pulled_at"]
    search_fields = ["repository", "tag", "digest"]


@admin.register(ContainerSpec)
class ContainerSpecAdmin(admin.ModelAdmin):
    """Read-mostly: container-VMs are created and changed through the services (pages, API), not here."""

    list_display = ["workload", "container_host", "image", "state", "restart_policy"]
    list_select_related = ["workload", "container_host", "image"]
    list_filter = ["state", "container_host"]
    readonly_fields = ["workload", "container_host", "image", "state", "started_at", "finished_at", "exit_code"]


@admin.register(ContainerEvent)
class ContainerEventAdmin(admin.ModelAdmin):
    list_display = ["at", "subject", "action", "message", "user"]
    list_filter = ["action"]
    search_fields = ["subject", "message"]


class NodeInline(admin.TabularInline):
    model = Node
    extra = 0
    raw_id_fields = ["workload"]


@admin.register(ContainerCluster)
class ContainerClusterAdmin(admin.ModelAdmin):
    list_display = ["name", "orchestrator", "version", "site", "imported_at"]
    inlines = [NodeInline]


@admin.register(Pod)
class PodAdmin(admin.ModelAdmin):
    list_display = ["name", "namespace", "cluster", "node", "phase", "restart_count"]
    list_filter = ["cluster", "namespace", "phase"]
    search_fields = ["name"]
