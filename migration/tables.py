"""The migrations list and the placement rules as tables; column names are their filtersets' sort keys
(migration/filtersets.py)."""

import django_tables2 as tables
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.template.loader import render_to_string
from django.urls import reverse_lazy
from django.utils.html import format_html, format_html_join

from hybridcloud.core import times, units
from hybridcloud.core.lists import NUM, ListTable


def _host(host):
    return format_html('{} <span class="muted small">{}</span>', host.name, host.cluster.site.name)


class MigrationTable(ListTable):
    export_name = "migrations"
    export_path = reverse_lazy("migration:export")  # its own URL and columns (migration.views.migration_export)
    noun = "migrations"
    form_id = "migration-filters"
    id = tables.Column(accessor="pk", verbose_name="#", linkify=True)
    workload = tables.Column(accessor="workload__name", verbose_name="Workload",
                             linkify=lambda record: record.get_absolute_url())  # fmt: skip
    kind = tables.Column(verbose_name="Kind")
    source = tables.Column(accessor="source_host", verbose_name="From")
    destination = tables.Column(accessor="destination_host", verbose_name="To")
    state = tables.Column(verbose_name="State")
    progress = tables.Column(accessor="percent", verbose_name="Progress", attrs=NUM, empty_values=())
    rounds = tables.Column(accessor="rounds_count", verbose_name="Rounds", attrs=NUM)
    downtime = tables.Column(accessor="downtime_s", verbose_name="Downtime", attrs=NUM, default="–")
    requested = tables.Column(accessor="created_at", verbose_name="Requested", attrs={"td": {"class": "small"}})

    class Meta(ListTable.Meta):
        attrs = {"class": "data", "id": "migration-table"}
        row_attrs = {"data-id": lambda record: record.pk, "data-state": lambda record: record.state}

    def render_id(self, value):
        return f"#{value}"

    def render_kind(self, record):
        return format_html('<span class="badge {}">{}</span>', record.kind_colour, record.get_kind_display())

    def render_source(self, value):
        return _host(value)

    def render_destination(self, value):
        return _host(value)

    def render_state(self, record):
        outcome = (
            format_html(' <span class="muted small">{}</span>', record.outcome)
            if record.outcome and record.outcome != record.state
            else ""
        )
        spot = getattr(record, "queue_spot", None)
        queue = (
            format_html(
                '<br><span class="small queue-spot" title="Estimated from the running moves\' predicted remaining '
                'times; by {} at the latest (p90)">#{} of {} in line, starts ~{}</span>',
                times.format_time(spot.latest_start_at), spot.position, spot.waiting,
                times.format_time(spot.estimated_start_at),
            )
            if spot
            else ""
        )  # fmt: skip
        return format_html(
            '<span class="badge {}">{}</span>{}{}', record.state_colour, record.get_state_display(), outcome, queue
        )

    def render_progress(self, value):
        return f"{value:.0f} %"

    def render_downtime(self, value):
        return units.format_duration(value)

    def render_requested(self, record):
        by = f" by {record.requested_by.get_username()}" if record.requested_by else ""
        return f"{naturaltime(record.created_at)}{by}"


class PlacementRuleTable(ListTable):
    """Rows are the filtered PlacementRule records; the view sets `statuses` (RuleStatus by rule pk: members, hosts,
    what breaks it now), computed once for the filtered rules."""

    export_name = "placement-rules"
    noun = "rules"
    form_id = "rule-filters"
    filtered_empty_text = "No rule matches these filters."
    statuses: dict = {}
    rule = tables.Column(accessor="name", verbose_name="Rule")
    kind = tables.Column(verbose_name="Kind")
    members = tables.Column(accessor="pk", verbose_name="Members", empty_values=(), attrs={"td": {"class": "small"}})
    host_group = tables.Column(accessor="pk", verbose_name="Host group", empty_values=(),
                               attrs={"td": {"class": "small"}})  # fmt: skip
    now = tables.Column(accessor="enabled", verbose_name="Now", attrs={"td": {"class": "small rule-now"}})

    class Meta(ListTable.Meta):
        attrs = {"class": "data", "id": "rules-table"}
        row_attrs = {
            "id": lambda record: f"rule-{record.pk}",
            "data-rule": lambda record: record.name,
            "class": lambda record: "" if record.enabled else "muted",
        }
        empty_text = "No placement rules yet."

    def render_rule(self, record):
        description = format_html('<div class="muted small">{}</div>', record.description) if record.description else ""
        return format_html("<strong>{}</strong>{}", record.name, description)

    def value_rule(self, record):
        return record.name

    def render_kind(self, record):
        scope = (
            format_html(' <span class="muted small">on {}</span>', record.get_scope_display().lower())
            if record.kind != "pin_to_hosts"
            else ""
        )
        return format_html('<span class="badge {}">{}</span>{}', self.statuses[record.pk].kind_colour,
                           record.get_kind_display(), scope)  # fmt: skip

    def value_kind(self, record):
        return record.kind

    def render_members(self, record):
        s = self.statuses[record.pk]
        chips = render_to_string("inventory/_tag_chips.html", {"tags": s.workload_tags}) if record.workload_tag else ""
        members = format_html_join(
            "", '<div class="member"><span class="mono">{}</span> <span class="muted">on {} · {}</span></div>',
            ((name, spot.host, spot.site) for name, spot in s.members),
        )  # fmt: skip
        return format_html("{}{}", chips, members or format_html('<span class="muted">{}</span>', "no members yet"))

    def value_members(self, record):
        return ", ".join(f"{name} on {spot.host}" for name, spot in self.statuses[record.pk].members)

    def render_host_group(self, record):
        s = self.statuses[record.pk]
        if not record.host_tag:
            return format_html('<span class="muted">{}</span>', "–")
        chips = render_to_string("inventory/_tag_chips.html", {"tags": s.host_tags, "hosts": True})
        hosts = ", ".join(s.hosts) or "no host has this tag"
        return format_html('{}<div class="muted">{}</div>', chips, hosts)

    def value_host_group(self, record):
        return ", ".join(self.statuses[record.pk].hosts) if record.host_tag else ""

    def render_now(self, record):
        broken = self.statuses[record.pk].broken
        if not record.enabled:
            return format_html('<span class="badge grey">{}</span>', "disabled")
        if broken:
            lines = format_html_join("", '<div class="rule-broken">{}</div>', ((b,) for b in broken))
            return format_html('<span class="badge red">{}</span>{}', "broken", lines)
        return format_html('<span class="badge green">{}</span>', "kept")

    def value_now(self, record):
        broken = self.statuses[record.pk].broken
        return "disabled" if not record.enabled else "; ".join(broken) if broken else "kept"
