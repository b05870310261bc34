"""The capacity page's lists as tables: open recommendations and evacuations. Column names are the filtersets'
sort keys (migration/capacity/filtersets.py)."""

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from hybridcloud.core import times, units
from hybridcloud.core.lists import NUM, ListTable


class RecommendationTable(ListTable):
    export_name = "recommendations"
    noun = "recommendations"
    form_id = "recommendation-search"
    id = tables.Column(accessor="pk", verbose_name="#", linkify=True)
    subject = tables.Column(accessor="subject_name", verbose_name="For")
    proposal = tables.Column(accessor="summary", verbose_name="Proposal", attrs={"td": {"class": "summary"}})
    moves = tables.Column(accessor="move_count", verbose_name="Moves", attrs=NUM)
    brings_under = tables.Column(verbose_name="Brings under")
    created = tables.Column(accessor="created_at", verbose_name="Computed")
    review = tables.Column(accessor="pk", verbose_name="", empty_values=())

    class Meta(ListTable.Meta):
        attrs = {"class": "data", "id": "recommendation-table"}
        row_attrs = {"data-id": lambda record: record.pk}
        empty_text = "None open. Operators compute proposals per site with “Recommend moves”."
        exclude_from_export = ("review",)

    def render_id(self, value):
        return f"#{value}"

    def value_id(self, value):
        return value

    def render_subject(self, record):
        return format_html('{} <span class="muted small">{}</span>', record.subject_name,
                           record.get_scope_display().lower())  # fmt: skip

    def render_brings_under(self, value):
        if value:
            return mark_safe('<span class="badge green">yes</span>')  # noqa: S308 (a constant)
        return mark_safe('<span class="badge amber">partly</span>')  # noqa: S308 (a constant)

    def value_brings_under(self, value):
        return "yes" if value else "partly"

    def render_created(self, value):
        return times.format_datetime(value)

    def render_review(self, record):
        return format_html('<a class="btn" href="{}">Review</a>', record.get_absolute_url())


class EvacuationTable(ListTable):
    export_name = "evacuations"
    noun = "evacuations"
    form_id = "evacuation-search"
    id = tables.Column(accessor="pk", verbose_name="#", linkify=True)
    subject = tables.Column(accessor="subject_name", verbose_name="Of")
    destination = tables.Column(accessor="destination_site__name", verbose_name="To", default="placement")
    started = tables.Column(accessor="created_at", verbose_name="Started")
    by = tables.Column(accessor="created_by__username", verbose_name="By", default="–")
    state = tables.Column(verbose_name="State")
    predicted = tables.Column(accessor="prediction__makespan_s", verbose_name="Predicted", attrs=NUM, default="–")

    class Meta(ListTable.Meta):
        attrs = {"class": "data", "id": "evacuation-table"}
        row_attrs = {"data-id": lambda record: record.pk}
        empty_text = "No evacuation yet. Evacuate a host from its capacity page, or a whole site above."

    def render_id(self, value):
        return f"#{value}"

    def value_id(self, value):
        return value

    def render_started(self, value):
        return times.format_datetime(value)

    def render_state(self, record):
        return format_html('<span class="badge {}">{}</span>', record.state_colour, record.get_state_display())

    def value_state(self, record):
        return record.state

    def render_predicted(self, value):
        return units.format_duration(value)
