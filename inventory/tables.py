"""Inventory lists as tables (sort keys: inventory/filtersets.py)."""

import django_tables2 as tables
from django.utils.html import format_html

from hybridcloud.core import units
from hybridcloud.core.lists import ListTable
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
        return units.format_datetime(value)

    def render_status(self, record):
        colour = EstateImportStatus(record.status).colour if record.status in EstateImportStatus.values else "grey"
        return format_html('<span class="badge {}">{}</span>', colour, record.get_status_display())

    def value_status(self, record):
        return record.status

    def render_result(self, value):
        return value if len(value) <= 120 else value[:119] + "…"

    def value_result(self, value):
        return value
