"""The move groups page's list of ended groups as a table (sort keys: migration/moves/filtersets.py)."""

import django_tables2 as tables
from django.utils.html import format_html

from hybridcloud.core import times
from hybridcloud.core.lists import NUM, ListTable


class EndedMoveGroupTable(ListTable):
    export_name = "move-groups-ended"
    noun = "groups"
    form_id = "ended-search"
    filtered_empty_text = "No ended group matches these filters."
    name = tables.Column(verbose_name="Group", linkify=True)
    workloads = tables.Column(accessor="member_count", verbose_name="Workloads", attrs=NUM)
    destination = tables.Column(accessor="destination_name", verbose_name="Destination")
    state = tables.Column(verbose_name="State")
    ended = tables.Column(accessor="ended_at", verbose_name="Ended")

    class Meta(ListTable.Meta):
        attrs = {"class": "data", "id": "past-groups"}
        row_attrs = {"data-group": lambda record: record.pk}
        empty_text = "No group has ended yet."

    def render_state(self, record):
        return format_html('<span class="badge {}">{}</span>', record.state_colour, record.get_state_display())

    def value_state(self, record):
        return record.state

    def render_ended(self, record):
        return times.format_datetime(record.finished_at)

    def value_ended(self, record):
        return record.finished_at.isoformat() if record.finished_at else ""
