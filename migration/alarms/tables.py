"""The alarms list as a table; column names are AlarmFilterSet's sort keys (migration/alarms/filtersets.py)."""

import django_tables2 as tables
from django.utils.html import format_html

from hybridcloud.core import units
from hybridcloud.core.lists import ListTable


class AlarmTable(ListTable):
    export_name = "alarms"
    noun = "alarms"
    form_id = "alarm-filters"
    filtered_empty_text = "No alarm matches these filters."
    severity = tables.Column(verbose_name="Severity")
    state = tables.Column(verbose_name="State")
    alarm = tables.Column(accessor="message", verbose_name="Alarm", linkify=lambda record: record.get_absolute_url())
    rule = tables.Column(accessor="rule__name", verbose_name="Rule", attrs={"td": {"class": "small"}})
    first_seen = tables.Column(verbose_name="First seen", attrs={"td": {"class": "small nowrap"}})
    last_seen = tables.Column(verbose_name="Last seen", attrs={"td": {"class": "small nowrap"}})
    who = tables.Column(accessor="pk", verbose_name="Who", empty_values=(), attrs={"td": {"class": "small"}})
    actions = tables.TemplateColumn(
        template_code='{% include "alarms/_alarm_actions.html" with alarm=record %}', verbose_name="",
        attrs={"td": {"class": "nowrap"}}, empty_values=(),
    )  # fmt: skip

    class Meta(ListTable.Meta):
        attrs = {"class": "data", "id": "alarm-table"}
        row_attrs = {"class": lambda record: f"alarm-row state-{record.state}", "data-alarm": lambda record: record.pk}
        empty_text = "No alarm yet: every rule is quiet."
        exclude_from_export = ("actions",)

    def render_severity(self, record):
        return format_html('<span class="badge {}">{}</span>', record.severity_colour, record.get_severity_display())

    def value_severity(self, record):
        return record.severity

    def render_state(self, record):
        return format_html('<span class="badge {}">{}</span>', record.state_colour, record.get_state_display())

    def value_state(self, record):
        return record.state

    def render_first_seen(self, value):
        return units.format_datetime(value, seconds=True)

    def render_last_seen(self, value):
        return units.format_datetime(value, seconds=True)

    def render_who(self, record):
        if record.cleared_at:
            return f"cleared by {record.cleared_by}" if record.cleared_by else "cleared (condition ended)"
        return f"acknowledged by {record.acknowledged_by}" if record.acknowledged_by else ""
