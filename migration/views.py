from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from hybridcloud.core.lists import csv_response, table_list
from hybridcloud.core.roles import is_operator
from inventory.models import Workload
from migration import selectors
from migration.choices import MigrationState
from migration.filtersets import MigrationFilterSet
from migration.forms import MigrationForm
from migration.prechecks import precheck_migration
from migration.services import MigrationRefused, migration_cancel, migration_start
from migration.tables import MigrationTable


def _filtered(request):
    """The migrations the page shows: MigrationFilterSet over the list's rule (active first, then newest)."""
    return MigrationFilterSet(request.GET, queryset=selectors.migration_list())


def migration_list(request):
    table = table_list(
        request, queryset=selectors.migration_list(), filterset_class=MigrationFilterSet, table_class=MigrationTable
    )
    records = [row.record for row in table.page.object_list]
    if any(m.state == MigrationState.QUEUED for m in records):
        queue = selectors.migration_queue()  # three queries, whatever the queue's length
        for m in records:
            m.queue_spot = queue.get(m.pk)
    return render(request, "migration/migration_list.html", {"table": table, "can_operate": is_operator(request.user)})


def _iso(value) -> str:
    return value.isoformat() if value else ""


MIGRATION_EXPORT_HEADER = [
    "id", "workload", "kind", "state", "outcome", "source_host", "destination_host", "source_site",
    "destination_site", "requested_by", "created_at", "started_at", "finished_at", "rounds", "bytes_sent",
    "downtime_s", "total_time_s", "predicted_rounds", "predicted_downtime_s", "predicted_total_time_s",
    "override_reason", "outcome_reason",
]  # fmt: skip


def migration_export(request):
    """The migrations the page shows (same filters, search and sort, every page) as CSV."""

    def rows():
        for m in _filtered(request).qs.iterator(chunk_size=500):
            p = m.prediction or {}
            yield [
                m.pk, m.workload.name, m.kind, m.state, m.outcome, m.source_host.name, m.destination_host.name,
                m.source_host.cluster.site.name, m.destination_host.cluster.site.name,
                m.requested_by.get_username() if m.requested_by else "", m.created_at.isoformat(),
                _iso(m.started_at), _iso(m.finished_at),
                m.rounds_count, round(m.bytes_sent), m.downtime_s if m.downtime_s is not None else "",
                m.total_time_s if m.total_time_s is not None else "", p.get("rounds", ""),
                p.get("downtime_s", ""), p.get("total_time_s", ""), m.override_reason, m.outcome_reason,
            ]  # fmt: skip

    return csv_response(name="migrations", header=MIGRATION_EXPORT_HEADER, rows=rows())


def migration_detail(request, pk: int):
    migration = get_object_or_404(selectors.migration_queryset(), pk=pk)
    return render(
        request,
        "migration/migration_detail.html",
        {
            "migration": migration,
            "snapshot": selectors.migration_snapshot(migration),
            "queue_spot": selectors.migration_queue().get(migration.pk)
            if migration.state == MigrationState.QUEUED
            else None,
            "can_operate": is_operator(request.user),
        },
    )


def migration_calibration(request):
    calibration = selectors.migration_calibration()
    return render(
        request,
        "migration/migration_calibration.html",
        {"calibration": calibration, "errors_percent": [round(100 * e, 2) for e in calibration["errors"]]},
    )


def migration_new(request):
    if not is_operator(request.user):
        raise PermissionDenied("Only operators may start migrations.")
    workload = get_object_or_404(
        Workload.objects.select_related("host__cluster__site", "segment", "datastore"),
        pk=request.GET.get("workload") or request.POST.get("workload") or 0,
    )
    form = MigrationForm(request.POST or None)
    check = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        options = {"workload": workload, **form.move_options()}
        if request.POST.get("action") == "start":
            try:
                migration = migration_start(
                    **options,
                    requested_by=request.user,
                    override_reason=data["override_reason"],
                    reason=data["reason"],
                )
            except MigrationRefused as refused:
                form.add_error(None, refused.errors)
            else:
                messages.success(request, f"Migration of {workload.name} started.")
                return redirect(migration.get_absolute_url())
        check = precheck_migration(**options)
    return render(
        request,
        "migration/migration_new.html",
        {"workload": workload, "form": form, "check": check, "prediction": check.prediction if check else None},
    )


@require_POST
def migration_cancel_view(request, pk: int):
    if not is_operator(request.user):
        raise PermissionDenied("Only operators may cancel migrations.")
    migration = get_object_or_404(selectors.migration_queryset(), pk=pk)
    try:
        migration_cancel(migration=migration, by=request.user)
    except MigrationRefused as refused:
        messages.error(request, " ".join(refused.errors))
    else:
        messages.success(
            request, f"Migration #{migration.pk} cancelled; {migration.workload.name} stays on its source."
        )
    return redirect(migration.get_absolute_url())
