"""Data entry for the inventory. Forms run each model's clean(), so the admin refuses what the rules refuse."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from hybridcloud.core.audit import AuditedModelAdmin
from hybridcloud.core.units import format_bytes
from inventory import services
from inventory.choices import HostState
from inventory.models import CloudLink, Cluster, Datastore, Host, NetworkSegment, PlacementRule, Site, Tag, Workload
from inventory.usage import running_sums

# -- inlines ---------------------------------------------------------------------------------------------------------


class ClusterInline(admin.TabularInline):
    model = Cluster
    extra = 0
    fields = ("name", "cpu_vendor", "cpu_baseline")
    show_change_link = True


class DatastoreInline(admin.TabularInline):
    model = Datastore
    extra = 0
    fields = ("name", "kind", "capacity_bytes", "used_bytes")
    show_change_link = True


class HostInline(admin.TabularInline):
    model = Host
    extra = 0
    fields = ("name", "cores", "ghz", "memory_bytes", "migration_nic_gbps", "state")
    show_change_link = True


class WorkloadInline(admin.TabularInline):
    """The workloads on a host, read-only: edit a workload on its own page (link), so its rules run there."""

    model = Workload
    extra = 0
    fields = ("name_link", "kind", "vcpus", "memory", "power_state", "segment", "ip_address")
    readonly_fields = fields
    can_delete = False
    show_change_link = False
    ordering = ("name",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("segment")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Name")
    def name_link(self, obj: Workload) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:inventory_workload_change", args=[obj.pk]), obj.name)

    @admin.display(description="Memory")
    def memory(self, obj: Workload) -> str:
        return format_bytes(obj.memory_bytes)


# -- sites and links -------------------------------------------------------------------------------------------------


@admin.register(Site)
class SiteAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("name", "kind", "provider", "region", "location", "latitude", "longitude", "cluster_count")
    list_filter = ("kind", "provider")
    search_fields = ("name", "provider", "region", "location")
    inlines = [ClusterInline, DatastoreInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(cluster_count=Count("clusters"))

    @admin.display(description="Clusters", ordering="cluster_count")
    def cluster_count(self, obj: Site) -> int:
        return obj.cluster_count


@admin.register(CloudLink)
class CloudLinkAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = (
        "__str__", "bandwidth_mbit", "rtt_ms", "loss_percent", "mtu_bytes", "compression_ratio", "encrypted",
    )  # fmt: skip
    list_filter = ("encrypted", "site_a", "site_b")
    search_fields = ("site_a__name", "site_b__name")
    list_select_related = ("site_a", "site_b")
    autocomplete_fields = ("site_a", "site_b")


# -- compute ---------------------------------------------------------------------------------------------------------


@admin.register(Cluster)
class ClusterAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("name", "site", "cpu_vendor", "cpu_baseline", "host_count")
    list_filter = ("site", "cpu_vendor", "cpu_baseline")
    search_fields = ("name", "site__name")
    list_select_related = ("site",)
    inlines = [HostInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(host_count=Count("hosts"))

    @admin.display(description="Hosts", ordering="host_count")
    def host_count(self, obj: Cluster) -> int:
        return obj.host_count


@admin.register(Host)
class HostAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = (
        "name", "cluster", "site_name", "hypervisor", "cores", "ghz", "memory", "migration_nic_gbps",
        "migration_streams", "socket_buffer", "migration_encrypted", "state", "workload_count", "memory_used",
    )  # fmt: skip
    list_filter = (
        "state", "hypervisor", "cluster__site", "cluster", "migration_nic_gbps", "migration_encrypted", "tags"
    )  # fmt: skip
    fieldsets = (
        (None, {"fields": ("name", "cluster", "hypervisor", "state", "tags")}),
        ("Size", {"fields": ("cores", "ghz", "memory_bytes")}),
        (
            "Migration stack",
            {
                "description": (
                    "What bounds how fast this host moves memory. ESXi out of the box: 4 streams, buffers tuned to "
                    "the path (empty), cipher 4 GB/s, no host codec. KVM with Linux defaults: 1 stream, 6 MiB "
                    "(6291456 bytes), TLS 500 MB/s, zstd 500 MB/s."
                ),
                "fields": (
                    "migration_nic_gbps", "migration_mtu_bytes", "migration_streams", "migration_socket_buffer_bytes",
                    "migration_encrypted", "migration_cipher_rate_bps", "migration_codec_rate_bps",
                ),
            },
        ),
        ("Hardware and software", {"fields": ("cpu_model", "esx_version", "evc_mode", "estate")}),
    )  # fmt: skip
    readonly_fields = ("estate",)
    search_fields = ("name", "cluster__name", "cluster__site__name")
    list_select_related = ("cluster__site",)
    inlines = [WorkloadInline]
    actions = ["enter_maintenance", "set_connected"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(workload_count=Count("workloads"), **running_sums("workloads__"))

    @admin.display(description="Site", ordering="cluster__site__name")
    def site_name(self, obj: Host) -> str:
        return obj.cluster.site.name

    @admin.display(description="Memory", ordering="memory_bytes")
    def memory(self, obj: Host) -> str:
        return format_bytes(obj.memory_bytes)

    @admin.display(description="Socket buffer", ordering="migration_socket_buffer_bytes")
    def socket_buffer(self, obj: Host) -> str:
        if obj.migration_socket_buffer_bytes is None:
            return "tuned to the path"
        return format_bytes(obj.migration_socket_buffer_bytes)

    @admin.display(description="Workloads", ordering="workload_count")
    def workload_count(self, obj: Host) -> int:
        return obj.workload_count

    @admin.display(description="Memory used (on)", ordering="used_memory_bytes")
    def memory_used(self, obj: Host) -> str:
        return format_bytes(obj.used_memory_bytes)

    @admin.action(description="Put selected hosts in maintenance")
    def enter_maintenance(self, request, queryset):
        changed = services.hosts_set_state(hosts=queryset, state=HostState.MAINTENANCE)
        self.message_user(request, f"{changed} host(s) put in maintenance.", messages.SUCCESS)

    @admin.action(description="Set selected hosts back to connected")
    def set_connected(self, request, queryset):
        changed = services.hosts_set_state(hosts=queryset, state=HostState.CONNECTED)
        self.message_user(request, f"{changed} host(s) connected.", messages.SUCCESS)


# -- storage and networks --------------------------------------------------------------------------------------------


class DatastoreAdminForm(forms.ModelForm):
    class Meta:
        model = Datastore
        fields = ("name", "site", "kind", "capacity_bytes", "used_bytes", "hosts")

    def clean(self):
        cleaned = super().clean()
        site, hosts = cleaned.get("site"), cleaned.get("hosts")
        if site is not None and hosts is not None:
            try:
                services.validate_datastore_hosts(site, hosts.select_related("cluster"))
            except forms.ValidationError as exc:
                self.add_error(None, exc)
        return cleaned


@admin.register(Datastore)
class DatastoreAdmin(AuditedModelAdmin, admin.ModelAdmin):
    form = DatastoreAdminForm
    list_display = ("name", "site", "kind", "capacity", "used", "percent_used", "host_count")
    list_filter = ("site", "kind")
    search_fields = ("name", "site__name")
    list_select_related = ("site",)
    filter_horizontal = ("hosts",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(host_count=Count("hosts"))

    @admin.display(description="Capacity", ordering="capacity_bytes")
    def capacity(self, obj: Datastore) -> str:
        return format_bytes(obj.capacity_bytes)

    @admin.display(description="Used", ordering="used_bytes")
    def used(self, obj: Datastore) -> str:
        return format_bytes(obj.used_bytes)

    @admin.display(description="% used")
    def percent_used(self, obj: Datastore) -> str:
        return f"{100 * obj.used_bytes / obj.capacity_bytes:.0f} %" if obj.capacity_bytes else "-"

    @admin.display(description="Hosts", ordering="host_count")
    def host_count(self, obj: Datastore) -> int:
        return obj.host_count


@admin.register(NetworkSegment)
class NetworkSegmentAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("name", "overlay_id", "cidr", "gateway", "site_names", "workload_count")
    list_filter = ("sites",)
    search_fields = ("name", "cidr", "overlay_id")
    filter_horizontal = ("sites",)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(workload_count=Count("workloads", distinct=True))
            .prefetch_related("sites")
        )

    @admin.display(description="Sites")
    def site_names(self, obj: NetworkSegment) -> str:
        return ", ".join(site.name for site in obj.sites.all())

    @admin.display(description="Workloads", ordering="workload_count")
    def workload_count(self, obj: NetworkSegment) -> int:
        return obj.workload_count


# -- workloads -------------------------------------------------------------------------------------------------------


@admin.register(Workload)
class WorkloadAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("name", "kind", "host", "site_name", "ip_address", "segment", "vcpus", "memory", "power_state")
    list_filter = ("kind", "power_state", "host__cluster__site", "segment", "estate", "tags")
    search_fields = ("name", "ip_address", "guest_os")
    list_select_related = ("host__cluster__site", "segment")
    autocomplete_fields = ("host",)
    list_per_page = 50
    actions = ["power_on", "power_off"]
    readonly_fields = ("created_at", "updated_at", "estate", "external_id")
    fieldsets = (
        (None, {"fields": ("name", "kind", "guest_os", "power_state", "annotation", "tags")}),
        ("Placement", {"fields": ("host", "datastore", "segment", "ip_address")}),
        ("Size", {"fields": ("vcpus", "memory_bytes", "disk_bytes", "disk_used_bytes")}),
        (
            "Memory and disk behaviour (migration inputs)",
            {"fields": ("dirty_rate_bps", "working_set_bytes", "disk_write_rate_bps")},
        ),
        ("Imported from", {"fields": ("estate", "external_id")}),
        ("History", {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(description="Site", ordering="host__cluster__site__name")
    def site_name(self, obj: Workload) -> str:
        return obj.host.cluster.site.name

    @admin.display(description="Memory", ordering="memory_bytes")
    def memory(self, obj: Workload) -> str:
        return format_bytes(obj.memory_bytes)

    @admin.action(description="Power on selected workloads")
    def power_on(self, request, queryset):
        result = services.workloads_power_on(workloads=queryset)
        self.message_user(request, f"{len(result.powered_on)} workload(s) powered on.", messages.SUCCESS)
        if result.refused:
            shown = "; ".join(result.refused[:10]) + (" …" if len(result.refused) > 10 else "")
            self.message_user(request, f"{len(result.refused)} not powered on: {shown}", messages.WARNING)

    @admin.action(description="Power off selected workloads")
    def power_off(self, request, queryset):
        changed = services.workloads_power_off(workloads=queryset)
        self.message_user(request, f"{changed} workload(s) powered off.", messages.SUCCESS)


@admin.register(Tag)
class TagAdmin(AuditedModelAdmin, admin.ModelAdmin):
    list_display = ("name", "slug", "swatch", "workload_count", "host_count")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(n_workloads=Count("workloads", distinct=True), n_hosts=Count("hosts", distinct=True))
        )

    @admin.display(description="Colour")
    def swatch(self, obj: Tag):
        return format_html('<span style="background:#{};padding:0 1em">&nbsp;</span> {}', obj.color, obj.color)

    @admin.display(description="Workloads", ordering="n_workloads")
    def workload_count(self, obj: Tag) -> int:
        return obj.n_workloads

    @admin.display(description="Hosts", ordering="n_hosts")
    def host_count(self, obj: Tag) -> int:
        return obj.n_hosts


class PlacementRuleAdminForm(forms.ModelForm):
    class Meta:
        model = PlacementRule
        fields = ["name", "kind", "scope", "workload_tag", "workloads", "host_tag", "enabled", "description"]

    def clean(self):
        cleaned = super().clean()
        error = PlacementRule.members_error(
            workload_tag=cleaned.get("workload_tag"), workloads=cleaned.get("workloads")
        )
        if error:
            self.add_error("workload_tag", error)
        return cleaned


@admin.register(PlacementRule)
class PlacementRuleAdmin(AuditedModelAdmin, admin.ModelAdmin):
    form = PlacementRuleAdminForm
    list_display = ("name", "kind", "scope", "workload_tag", "host_tag", "enabled")
    list_filter = ("kind", "scope", "enabled")
    search_fields = ("name", "description")
    autocomplete_fields = ("workloads",)
