"""Inventory lists as tables (sort keys: inventory/filtersets.py)."""

import django_tables2 as tables
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils.html import format_html

from hybridcloud.core import times, units
from hybridcloud.core.lists import NUM, ListTable
from inventory.choices import EstateImportStatus


class EstateImportTable(ListTable):
    export_name = "imports"
    noun = "imports"
    form_id = "import-search"
    filtered_empty_text = "No import matches these filters."
    when = tables.Column(accessor="created_at", verbose_name="When", linkify=lambda record: record.get_absolute_url())
    file = tables.Column(accessor="file_name", verbose_name="File")
    estate = tables.Column(accessor="estate__name", verbose_name="Estate", default="–")
    by = tables.Column(accessor="requested_by__username", verbose_name="By", default="system")
    status = tables.Column(verbose_name="Status")
    result = tables.Column(accessor="message", verbose_name="Result", attrs={"td": {"class": "small"}}, default="")

    class Meta(ListTable.Meta):
        attrs = {"class": "data", "id": "import-history"}
        row_attrs = {"data-id": lambda record: record.pk}
        empty_text = "No imports yet."

    def render_when(self, value):
        return times.format_datetime(value)

    def render_status(self, record):
        colour = EstateImportStatus(record.status).colour if record.status in EstateImportStatus.values else "grey"
        return format_html('<span class="badge {}">{}</span>', colour, record.get_status_display())

    def value_status(self, record):
        return record.status

    def render_result(self, value):
        return value if len(value) <= 120 else value[:119] + "…"

    def value_result(self, value):
        return value


def _site_link(site):
    return format_html('<a href="{}">{}</a>', reverse("inventory:site_detail", args=[site.pk]), site.name)


class CloudLinkTable(ListTable):
    export_name = "links"
    noun = "links"
    form_id = "link-filters"
    filtered_empty_text = "No link matches this search."
    between = tables.Column(accessor="site_a__name", verbose_name="Between", empty_values=())
    rtt = tables.Column(accessor="rtt_ms", verbose_name="RTT", attrs=NUM)
    bandwidth = tables.Column(accessor="bandwidth_mbit", verbose_name="Bandwidth", attrs=NUM)
    loss = tables.Column(accessor="loss_percent", verbose_name="Loss", attrs=NUM)
    wan = tables.Column(accessor="compression_ratio", verbose_name="WAN opt.", attrs=NUM)

    class Meta(ListTable.Meta):
        attrs = {"class": "data", "id": "link-table"}
        row_attrs = {"data-id": lambda record: record.pk}
        empty_text = "No links."

    def render_between(self, record):
        return format_html("{} ↔ {}", _site_link(record.site_a), _site_link(record.site_b))

    def value_between(self, record):
        return f"{record.site_a.name} ↔ {record.site_b.name}"

    def render_rtt(self, value):
        return f"{floatformat(value, '-1')} ms"

    def render_bandwidth(self, value):
        return units.format_mbit(value)

    def render_loss(self, value):
        return units.format_loss(value / 100)

    def render_wan(self, value):
        return f"{floatformat(value, '-1')}×" if value > 1 else "–"


class NetworkSegmentTable(ListTable):
    export_name = "segments"
    noun = "segments"
    form_id = "segment-filters"
    filtered_empty_text = "No segment matches this search."
    segment = tables.Column(accessor="name", verbose_name="Segment", linkify=lambda record: record.get_absolute_url())
    cidr = tables.Column(verbose_name="CIDR", attrs={"td": {"class": "mono"}})
    sites = tables.Column(accessor="pk", verbose_name="Sites", empty_values=())
    workloads = tables.Column(accessor="workload_count", verbose_name="Workloads", attrs=NUM)

    class Meta(ListTable.Meta):
        attrs = {"class": "data", "id": "segment-table"}
        row_attrs = {"data-id": lambda record: record.pk}
        empty_text = "No network segments."

    def render_sites(self, record):
        return ", ".join(s.name for s in record.sites.all())
