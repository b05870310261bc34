"""The audit trail as a table; column names are AuditEntryFilterSet's sort keys (hybridcloud/core/filtersets.py)."""

import django_tables2 as tables
from django.urls import reverse_lazy
from django.utils.html import format_html

from hybridcloud.core import times
from hybridcloud.core.lists import ListTable


def _action_colour(action: str) -> str:
    if action.endswith(("delete", "cancel")):
        return "red"
    if action.endswith("override"):
        return "amber"
    if action.endswith(("create", "start")):
        return "teal"
    return "indigo"


class AuditEntryTable(ListTable):
    export_name = "audit"
    export_path = reverse_lazy("audit-export")  # its own URL and columns (hybridcloud.core.audit_views.audit_export)
    noun = "entries"
    form_id = "audit-filters"
    filtered_empty_text = "No entries match these filters."
    at = tables.Column(verbose_name="When", attrs={"td": {"class": "small nowrap"}})
    actor = tables.Column(accessor="actor_label", verbose_name="Actor")
    action = tables.Column(verbose_name="Action")
    object = tables.Column(accessor="object_repr", verbose_name="Object", empty_values=())
    changes = tables.TemplateColumn(
        template_code='{% include "hybridcloud/_audit_changes.html" with e=record %}', verbose_name="Changes",
        attrs={"td": {"class": "small"}}, empty_values=(),
    )  # fmt: skip
    via = tables.Column(verbose_name="Via", attrs={"td": {"class": "small"}})
    source = tables.Column(accessor="source_ip", verbose_name="From", default="–", attrs={"td": {"class": "small"}})
    message = tables.Column(verbose_name="Message", attrs={"td": {"class": "small"}}, default="")

    class Meta(ListTable.Meta):
        attrs = {"class": "data", "id": "audit-table"}
        row_attrs = {"data-id": lambda record: record.pk, "data-action": lambda record: record.action}
        empty_text = "No entries."

    def render_at(self, value):
        return format_html('<span title="{}">{}</span>', value.isoformat(), times.format_datetime(value, seconds=True))

    def render_actor(self, record):
        if record.actor_id:
            return record.actor_label
        return format_html('<span class="muted">{}</span>', record.actor_label)

    def render_action(self, value):
        return format_html('<span class="badge {}">{}</span>', _action_colour(value), value)

    def render_object(self, record):
        kind = record.object_type and format_html('<span class="muted small">{}</span> ', record.object_type.name)
        number = format_html(' <span class="muted small">#{}</span>', record.object_id) if record.object_id else ""
        return format_html("{}{}{}", kind or "", record.object_repr, number)

    def render_source(self, record):
        return format_html('<span title="{}">{}</span>', record.user_agent, record.source_ip or "–")
