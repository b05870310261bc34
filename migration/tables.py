"""The migrations list as a table; column names are MigrationFilterSet's sort keys (migration/filtersets.py)."""

import django_tables2 as tables
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.urls import reverse_lazy
from django.utils.html import format_html

from hybridcloud.core import units
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
                units.format_time(spot.latest_start_at), spot.position, spot.waiting,
                units.format_time(spot.estimated_start_at),
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
