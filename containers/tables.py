"""The container lists as tables: container hosts, orchestrated clusters, images, a host's container-VMs, a
cluster's pods. Column names are the filtersets' sort keys (containers/filtersets.py)."""

import django_tables2 as tables
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from containers.templatetags.containers_tags import cpus, phase_colour, state_colour
from hybridcloud.core import times, units
from hybridcloud.core.lists import NUM, ListTable


def _meter(used, limit, used_text: str, limit_text: str):
    """ "used / limit" over a usage bar (hybridcloud.core.units' levels)."""
    fraction = units.usage_fraction(used, limit)
    return format_html(
        '{} / {}<div class="bar teal {}"><span style="width: {}%"></span></div>',
        used_text, limit_text, units.usage_level(fraction), f"{fraction * 100:.1f}",
    )  # fmt: skip


def _noted(text, note, *, detail: bool = False):
    """A value with a muted note after it: a count's "(3 running)" (small), or a detail such as a CIDR or a version
    (`detail`: monospace)."""
    return format_html('{} <span class="{}">{}</span>', text, "mono muted" if detail else "muted small", note)


def _strong(text):
    return format_html("<strong>{}</strong>", text)


class ContainerHostTable(ListTable):
    export_name = "container-hosts"
    noun = "container hosts"
    form_id = "container-host-search"
    name = tables.Column(linkify=True, verbose_name="Name")
    cluster = tables.Column(verbose_name="Cluster")
    endpoint = tables.Column(verbose_name="Endpoint", attrs={"td": {"class": "mono"}}, default="–")
    segment = tables.Column(verbose_name="Segment")
    containers = tables.Column(accessor="container_count", verbose_name="Container-VMs", attrs=NUM)
    cpus = tables.Column(accessor="cpus_used", verbose_name="CPUs used / limit", attrs={"td": {"class": "ctr-meter"}})
    memory = tables.Column(
        accessor="memory_used", verbose_name="Memory used / limit", attrs={"td": {"class": "ctr-meter"}}
    )

    class Meta(ListTable.Meta):
        attrs = {"class": "data", "id": "container-hosts"}
        empty_text = "No container host matches."

    def render_name(self, record):
        return _strong(record.name)

    def render_cluster(self, record):
        return _noted(record.cluster.name, record.cluster.site.name)

    def value_cluster(self, record):
        return record.cluster.name

    def render_segment(self, record):
        return _noted(record.segment.name, record.segment.cidr, detail=True)

    def value_segment(self, record):
        return record.segment.name

    def render_containers(self, record):
        return _noted(record.container_count, f"({record.running_count} running)")

    def value_containers(self, record):
        return record.container_count

    def render_cpus(self, record):
        return _meter(record.cpus_used, record.cpu_limit, cpus(record.cpus_used), cpus(record.cpu_limit))

    def value_cpus(self, record):
        return f"{cpus(record.cpus_used)} / {cpus(record.cpu_limit)}"

    def render_memory(self, record):
        used, limit = record.memory_used, record.memory_limit_bytes
        return _meter(used, limit, units.format_bytes(used), units.format_bytes(limit))

    def value_memory(self, record):
        return f"{units.format_bytes(record.memory_used)} / {units.format_bytes(record.memory_limit_bytes)}"


class ContainerClusterTable(ListTable):
    export_name = "container-clusters"
    noun = "clusters"
    form_id = "cluster-search"
    name = tables.Column(linkify=True, verbose_name="Name")
    orchestrator = tables.Column(verbose_name="Orchestrator")
    site = tables.Column(accessor="site__name", verbose_name="Site")
    nodes = tables.Column(accessor="node_count", verbose_name="Nodes (ready)", attrs=NUM)
    pods = tables.Column(accessor="pod_count", verbose_name="Pods (running)", attrs=NUM)
    imported = tables.Column(accessor="imported_at", verbose_name="Last import", default="never")

    class Meta(ListTable.Meta):
        attrs = {"class": "data", "id": "container-clusters"}
        empty_text = "No cluster matches."

    def render_name(self, record):
        return _strong(record.name)

    def render_orchestrator(self, record):
        return _noted(record.get_orchestrator_display(), record.version, detail=True)

    def render_nodes(self, record):
        return _noted(record.node_count, f"({record.ready_count})")

    def render_pods(self, record):
        return _noted(record.pod_count, f"({record.running_pods})")

    def render_imported(self, value):
        return times.format_datetime(value)


class ImageTable(ListTable):
    export_name = "images"
    noun = "images"
    form_id = "image-search"
    repository = tables.Column(verbose_name="Repository")
    tag = tables.Column(verbose_name="Tag")
    image_id = tables.Column(accessor="short_id", verbose_name="Image id", attrs={"td": {"class": "mono"}})
    size = tables.Column(accessor="size_bytes", verbose_name="Size", attrs=NUM)
    containers = tables.Column(accessor="container_count", verbose_name="Container-VMs", attrs=NUM)

    class Meta(ListTable.Meta):
        attrs = {"class": "data", "id": "images"}
        row_attrs = {"data-ref": lambda record: record.reference}
        empty_text = "No images pulled yet."

    def render_image_id(self, record):
        return format_html('<span title="{}">{}</span>', record.digest, record.short_id)

    def value_image_id(self, record):
        return record.digest

    def render_size(self, value):
        return units.format_bytes(value)


class ContainerSpecTable(ListTable):
    export_name = "container-vms"
    noun = "container-VMs"
    form_id = "container-search"
    name = tables.Column(
        accessor="workload__name", verbose_name="Name", linkify=lambda record: record.get_absolute_url()
    )
    state = tables.Column(verbose_name="State")
    image = tables.Column(accessor="image__reference", verbose_name="Image", attrs={"td": {"class": "mono"}})
    ports = tables.Column(accessor="pk", verbose_name="Ports", empty_values=())
    ip = tables.Column(accessor="workload__ip_address", verbose_name="IP", attrs={"td": {"class": "mono"}})
    host = tables.Column(accessor="workload__host__name", verbose_name="Host")
    cpus = tables.Column(verbose_name="CPUs", attrs=NUM)
    memory = tables.Column(accessor="workload__memory_bytes", verbose_name="Memory", attrs=NUM)
    actions = tables.TemplateColumn(
        template_code='{% include "containers/_container_actions.html" with spec=record next=request.path %}',
        verbose_name="", empty_values=(),
    )  # fmt: skip

    class Meta(ListTable.Meta):
        attrs = {"class": "data", "id": "containers"}
        row_attrs = {"data-name": lambda record: record.workload.name}
        empty_text = "No container-VMs on this container host match."
        exclude_from_export = ("actions",)

    def render_name(self, record):
        return _strong(record.workload.name)

    def render_state(self, record):
        exit_code = (
            format_html(' <span class="muted small">({})</span>', record.exit_code) if record.state == "exited" else ""
        )
        return format_html(
            '<span class="badge {}">{}</span>{}', state_colour(record.state), record.get_state_display(), exit_code
        )

    def value_state(self, record):
        return record.state

    def render_ports(self, record):
        ports = record.published_ports.all()
        if not ports:
            return mark_safe('<span class="muted">–</span>')  # noqa: S308 (a constant)
        badges = format_html_join(
            "", '<span class="badge grey mono">{}→{}/{}</span>',
            ((p.host_port, p.container_port, p.protocol) for p in ports),
        )  # fmt: skip
        return format_html('<span class="ctr-ports">{}</span>', badges)

    def value_ports(self, record):
        return " ".join(f"{p.host_port}->{p.container_port}/{p.protocol}" for p in record.published_ports.all())

    def render_cpus(self, value):
        return cpus(value)

    def render_memory(self, value):
        return units.format_bytes(value)


class PodTable(ListTable):
    export_name = "pods"
    noun = "pods"
    form_id = "pod-search"
    name = tables.Column(linkify=True, verbose_name="Pod")
    namespace = tables.Column(verbose_name="Namespace")
    phase = tables.Column(verbose_name="Phase")
    node = tables.Column(accessor="node__name", verbose_name="Node", default="–")
    ip = tables.Column(accessor="pod_ip", verbose_name="Pod IP", default="–", attrs={"td": {"class": "mono"}})
    restarts = tables.Column(accessor="restart_count", verbose_name="Restarts", attrs=NUM)
    images = tables.Column(accessor="containers", verbose_name="Images", attrs={"td": {"class": "mono small"}})

    class Meta(ListTable.Meta):
        attrs = {"class": "data", "id": "pods"}
        row_attrs = {"data-namespace": lambda record: record.namespace}
        empty_text = "No pods match."

    def render_phase(self, value):
        return format_html('<span class="badge {}">{}</span>', phase_colour(value), value)

    def render_images(self, value):
        return format_html_join(mark_safe("<br>"), "{}", ((c.get("image", ""),) for c in value))

    def value_images(self, value):
        return " ".join(c.get("image", "") for c in value)
