"""The alarms, alarm rules and delivery log as tables; column names are their filtersets' sort keys
(migration/alarms/filtersets.py)."""

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from hybridcloud.core import times, units
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
        return times.format_datetime(value, seconds=True)

    def render_last_seen(self, value):
        return times.format_datetime(value, seconds=True)

    def render_who(self, record):
        if record.cleared_at:
            return f"cleared by {record.cleared_by}" if record.cleared_by else "cleared (condition ended)"
        return f"acknowledged by {record.acknowledged_by}" if record.acknowledged_by else ""


class _AdminEditedTable(ListTable):
    """Rows that administrators edit: the name links to the row's form (`edit_url`) when the view sets `can_edit`,
    and the row is enabled or not."""

    can_edit = False
    edit_url = ""

    def edit_link(self, record):
        if self.can_edit:
            return format_html('<a href="{}">{}</a>', reverse(self.edit_url, args=[record.pk]), record.name)
        return record.name

    def render_enabled(self, value):
        if value:
            return format_html('<span class="badge green">{}</span>', "enabled")
        return format_html('<span class="badge grey">{}</span>', "disabled")

    def value_enabled(self, value):
        return "enabled" if value else "disabled"


class AlarmRuleTable(_AdminEditedTable):
    export_name = "alarm-rules"
    noun = "rules"
    form_id = "rule-filters"
    filtered_empty_text = "No rule matches these filters."
    edit_url = "alarms:rule_edit"
    rule = tables.Column(accessor="name", verbose_name="Rule")
    condition = tables.Column(verbose_name="Condition", empty_values=())
    severity = tables.Column(verbose_name="Severity")
    tells = tables.Column(accessor="pk", verbose_name="Tells", empty_values=(), attrs={"td": {"class": "small"}})
    enabled = tables.Column(verbose_name="Enabled")

    class Meta(ListTable.Meta):
        attrs = {"class": "data", "id": "rule-table"}
        row_attrs = {"data-rule": lambda record: record.pk}
        empty_text = "No rule: nothing raises alarms."

    def render_rule(self, record):
        return self.edit_link(record)

    def value_rule(self, record):
        return record.name

    def render_severity(self, record):
        return format_html('<span class="badge {}">{}</span>', record.severity_colour, record.get_severity_display())

    def value_severity(self, record):
        return record.severity

    def render_tells(self, record):
        told = [*record.email_recipients]
        webhooks = ", ".join(f"webhook {w.name}" for w in record.webhooks.all())
        if not told and not webhooks:
            return format_html('<span class="muted">{}</span>', "the alarm list only")
        return "; ".join(part for part in (", ".join(told), webhooks) if part)


class WebhookEndpointTable(_AdminEditedTable):
    export_name = "webhook-endpoints"
    noun = "endpoints"
    form_id = "endpoint-filters"
    filtered_empty_text = "No endpoint matches these filters."
    edit_url = "alarms:webhook_edit"  # its form shows the secret: administrators only
    endpoint = tables.Column(accessor="name", verbose_name="Endpoint")
    url = tables.Column(verbose_name="URL", attrs={"td": {"class": "mono small"}})
    retries = tables.Column(accessor="max_attempts", verbose_name="Retries", attrs={"td": {"class": "small"}})
    rules = tables.Column(accessor="pk", verbose_name="Rules", empty_values=(), attrs={"td": {"class": "small"}})
    enabled = tables.Column(verbose_name="Enabled")

    class Meta(ListTable.Meta):
        attrs = {"class": "data", "id": "endpoint-table"}
        row_attrs = {"data-endpoint": lambda record: record.pk}
        empty_text = "No webhook endpoint."

    def render_endpoint(self, record):
        return self.edit_link(record)

    def value_endpoint(self, record):
        return record.name

    def render_retries(self, record):
        backoff = units.format_duration(record.retry_backoff_s)
        return f"{record.max_attempts} attempts, first retry after {backoff}, then doubling"

    def value_retries(self, record):
        return record.max_attempts

    def render_rules(self, record):
        names = ", ".join(rule.name for rule in record.rules.all())
        return names or format_html('<span class="muted">{}</span>', "none")

    def value_rules(self, record):
        return ", ".join(rule.name for rule in record.rules.all())


_ATTEMPTS = (
    '{% load units %}<ol class="attempts-list">{% for a in record.attempt_log.all %}<li>{{ a.at|time_of_day }} '
    '{% if a.ok %}<span class="badge green">{% if a.response_code %}HTTP {{ a.response_code }}{% else %}sent'
    '{% endif %}</span>{% else %}<span class="badge red">{% if a.response_code %}HTTP {{ a.response_code }}{% else %}'
    "failed{% endif %}</span> {{ a.error|truncatechars:80 }}{% endif %} "
    '<span class="muted">{{ a.duration_ms|floatformat:0 }} ms</span></li>{% endfor %}</ol>'
)


class DeliveryTable(ListTable):
    export_name = "deliveries"
    noun = "deliveries"
    form_id = "delivery-filters"
    filtered_empty_text = "No delivery matches these filters."
    created = tables.TemplateColumn(
        "{% load units %}{{ record.created_at|datetime_seconds }}", accessor="created_at", verbose_name="Created",
        attrs={"td": {"class": "small nowrap"}},
    )  # fmt: skip
    alarm = tables.Column(accessor="alarm_id", verbose_name="Alarm", linkify=lambda record: record.alarm)
    channel = tables.Column(verbose_name="Channel")
    to = tables.Column(accessor="target", verbose_name="To", attrs={"td": {"class": "small"}})
    status = tables.Column(verbose_name="Status")
    attempts = tables.Column(verbose_name="Attempts", attrs={"th": {"class": "num"}, "td": {"class": "num attempts"}})
    each_attempt = tables.TemplateColumn(
        _ATTEMPTS, accessor="pk", verbose_name="Each attempt", attrs={"td": {"class": "small"}}
    )
    next_retry = tables.TemplateColumn(
        "{% load units %}{{ record.next_retry_at|time_of_day }}", accessor="next_retry_at", verbose_name="Next retry",
        attrs={"td": {"class": "small"}}, empty_values=(),
    )  # fmt: skip

    class Meta(ListTable.Meta):
        attrs = {"class": "data", "id": "delivery-log"}
        row_attrs = {"data-delivery": lambda record: record.pk}
        empty_text = "Nothing sent yet."

    def render_alarm(self, value):
        return f"#{value}"

    def render_channel(self, record):
        return record.get_channel_display()

    def render_status(self, record):
        return format_html('<span class="badge {}">{}</span>', record.status_colour, record.get_status_display())

    def value_status(self, record):
        return record.status

    def render_attempts(self, record):
        return f"{record.attempts} of {record.max_attempts}"

    def value_each_attempt(self, record):
        """In the CSV, each attempt on its own line of the cell, in full: number, time to the second, result, the
        whole error, duration (the page's list truncates the error)."""
        return "\n".join(
            f"{a.number}. {times.format_datetime(a.at, seconds=True)}: "
            f"{f'HTTP {a.response_code}' if a.response_code else ('sent' if a.ok else 'failed')}"
            f"{'' if a.ok or not a.error else f' ({a.error})'}, {a.duration_ms:.0f} ms"
            for a in record.attempt_log.all()
        )
