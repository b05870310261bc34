"""The assessments list as a table (sort keys: migration/assessment/filtersets.py)."""

import django_tables2 as tables
from django.utils.html import format_html

from hybridcloud.core import times, units
from hybridcloud.core.lists import NUM, ListTable


def _one_decimal(x: float) -> str:
    """65.0 → "65", 65.25 → "65.2" (as the page showed it before: floatformat:"-1")."""
    return f"{x:.1f}".removesuffix(".0")


class AssessmentTable(ListTable):
    export_name = "assessments"
    noun = "assessments"
    form_id = "assessment-search"
    filtered_empty_text = "No assessment matches these filters."
    compare = tables.Column(accessor="pk", verbose_name="Compare", empty_values=())
    id = tables.Column(accessor="pk", verbose_name="#")
    assessment = tables.Column(accessor="title", verbose_name="Assessment")
    destination = tables.Column(accessor="destination__name", verbose_name="Destination")
    link = tables.Column(accessor="bandwidth_mbit", verbose_name="Link", attrs=NUM)
    compression = tables.Column(accessor="compression_ratio", verbose_name="Compression", attrs=NUM)
    workloads = tables.Column(accessor="summary__workloads", verbose_name="Workloads", attrs=NUM, default="–")
    makespan = tables.Column(accessor="summary__makespan_s", verbose_name="Makespan", attrs=NUM, default="–")
    status = tables.Column(verbose_name="Status")
    created = tables.Column(accessor="created_at", verbose_name="Created", attrs={"td": {"class": "small"}})

    class Meta(ListTable.Meta):
        attrs = {"class": "data", "id": "assessments"}
        row_attrs = {"data-id": lambda record: record.pk}
        empty_text = "No assessment yet."
        exclude_from_export = ("compare",)

    def render_compare(self, record):
        return format_html(
            '<input type="checkbox" name="ids" value="{}" aria-label="Compare assessment {}">', record.pk, record.pk
        )

    def render_assessment(self, record):
        rerun = (
            format_html(' <span class="muted small">re-run of #{}</span>', record.based_on_id)
            if record.based_on_id
            else ""
        )
        return format_html('<a href="{}">{}</a>{}', record.get_absolute_url(), record.title, rerun)

    def value_assessment(self, record):
        return record.title

    def render_link(self, record):
        return f"{units.format_mbit(record.bandwidth_mbit)} · {_one_decimal(record.rtt_ms)} ms"

    def render_compression(self, value):
        return f"{_one_decimal(value)}×" if value > 1 else "off"

    def render_makespan(self, value):
        return units.format_duration(value)

    def render_status(self, record):
        return format_html('<span class="badge {}">{}</span>', record.status_colour, record.get_status_display())

    def value_status(self, record):
        return record.status

    def render_created(self, record):
        by = record.created_by.username if record.created_by else "–"
        return f"{times.format_datetime(record.created_at)} · {by}"
