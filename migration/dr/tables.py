"""The recovery plans list as a table; column names are RecoveryPlanFilterSet's sort keys (dr/filtersets.py)."""

import django_tables2 as tables
from django.contrib.humanize.templatetags.humanize import naturaltime
from django.urls import reverse, reverse_lazy
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from hybridcloud.core import units
from hybridcloud.core.lists import NUM, ListTable


class RecoveryPlanTable(ListTable):
    export_name = "dr-plans"
    export_path = reverse_lazy("dr:plan_export")  # its own URL and columns (migration.dr.views.plan_export)
    noun = "plans"
    form_id = "plan-search"
    filtered_empty_text = "No plan matches the search."
    name = tables.Column(verbose_name="Plan")
    protected = tables.Column(accessor="protected_site__name", verbose_name="Protected site → recovery site")
    groups = tables.Column(accessor="group_count", verbose_name="Groups", attrs=NUM)
    workloads = tables.Column(accessor="workload_count", verbose_name="Workloads", attrs=NUM)
    rto = tables.Column(accessor="target_rto_s", verbose_name="Target RTO", attrs=NUM)
    schedule = tables.Column(verbose_name="Schedule", empty_values=())
    last_drill = tables.Column(accessor="last_finished_at", verbose_name="Last drill", empty_values=())

    class Meta(ListTable.Meta):
        attrs = {"class": "data", "id": "plan-table"}
        empty_text = "No recovery plan yet. Admins create plans in the admin."

    def render_name(self, record):
        disabled = mark_safe(' <span class="badge grey">disabled</span>') if not record.enabled else ""  # noqa: S308
        return format_html('<a href="{}">{}</a>{}', reverse("dr:plan_detail", args=[record.pk]), record.name, disabled)

    def value_name(self, record):
        return record.name

    def render_protected(self, record):
        return f"{record.protected_site.name} → {record.recovery_site.name}"

    def render_rto(self, value):
        return units.format_duration(value)

    def render_schedule(self, record):
        schedule = record.schedule
        if not schedule:
            return mark_safe('<span class="muted">none</span>')  # noqa: S308 (a constant)
        if not schedule.enabled:
            return mark_safe('<span class="badge grey">paused</span>')  # noqa: S308 (a constant)
        crontab = schedule.crontab
        return format_html('<span class="badge indigo">{}</span>', getattr(crontab, "human_readable", "") or crontab)

    def render_last_drill(self, record):
        if not record.last_drill_id:
            return mark_safe('<span class="muted">never drilled</span>')  # noqa: S308 (a constant)
        verdict = (
            mark_safe('<span class="badge green">RTO met</span>')  # noqa: S308 (a constant)
            if record.last_verdict == "met"
            else mark_safe('<span class="badge red">RTO missed</span>')  # noqa: S308 (a constant)
        )
        return format_html(
            '<a href="{}">{}</a> {} <span class="muted small">{}</span>',
            reverse("dr:drill_report", args=[record.last_drill_id]), units.format_duration(record.last_rto_s), verdict,
            naturaltime(record.last_finished_at),
        )  # fmt: skip
