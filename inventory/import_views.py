"""The RVTools import pages: upload, choose a site per datacenter, watch the progress, read the summary.
Operators and administrators only."""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hybridcloud.core.lists import list_response, table_list
from hybridcloud.core.views import operator_required
from inventory.choices import EstateImportStatus
from inventory.filtersets import EstateImportFilterSet
from inventory.forms import DatacenterSitesForm, RVToolsUploadForm
from inventory.importers.records import RVToolsRefused
from inventory.importers.runs import (
    DEMO_EXAMPLE,
    default_site_for,
    estate_import_create,
    estate_import_queue,
    problems_payload,
)
from inventory.importers.sources import ExportUnreadable
from inventory.models import Estate, EstateImport, Site
from inventory.tables import EstateImportTable

RECENT_IMPORTS = 20


def _list_page(request, form: RVToolsUploadForm, problems: list[str] | None = None, problem_count: int = 0, status=200):
    imports = table_list(
        request, queryset=EstateImport.objects.select_related("estate", "requested_by").defer("summary", "errors"),
        filterset_class=EstateImportFilterSet, table_class=EstateImportTable, prefix="imports", per_page=RECENT_IMPORTS,
    )  # fmt: skip
    if export := list_response(request, [imports]):
        return export
    return render(
        request,
        "inventory/estate_import_list.html",
        {
            "form": form,
            "problems": problems or [],
            "problem_count": problem_count,
            "more_problems": max(problem_count - len(problems or []), 0),
            "imports": imports,
            "estates": Estate.objects.order_by("name"),
            "demo_available": DEMO_EXAMPLE.is_file(),
        },
        status=status,
    )


@require_GET
@operator_required
def estate_import_list(request):
    return _list_page(request, RVToolsUploadForm())


@require_POST
@operator_required
def estate_import_upload(request):
    form = RVToolsUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _list_page(request, form, status=400)
    upload = form.cleaned_data["file"]
    try:
        estate_import = estate_import_create(
            content=upload.read(), file_name=upload.name, user=request.user,
            estate_name=form.cleaned_data["estate_name"],
        )  # fmt: skip
    except (ExportUnreadable, RVToolsRefused) as exc:
        problems, count = problems_payload(exc)
        return _list_page(request, form, problems, count, status=400)
    return redirect(estate_import)


@require_POST
@operator_required
def estate_import_demo(request):
    """The demo's example file, as if uploaded."""
    estate_import = estate_import_create(
        content=DEMO_EXAMPLE.read_bytes(), file_name=DEMO_EXAMPLE.name, user=request.user
    )
    return redirect(estate_import)


def _sites_form(request, estate_import: EstateImport, data=None) -> DatacenterSitesForm:
    sites = list(Site.objects.order_by("kind", "name"))
    datacenters = estate_import.summary.get("datacenters_found", [])
    estate_id = estate_import.summary.get("estate_found")
    initial = {dc: default_site_for(dc, estate_id=estate_id, sites=sites) for dc in datacenters}
    return DatacenterSitesForm(data, datacenters=datacenters, sites=sites, initial_sites=initial)


@require_http_methods(["GET", "POST"])
@operator_required
def estate_import_detail(request, pk: int):
    estate_import = get_object_or_404(EstateImport.objects.select_related("estate", "requested_by"), pk=pk)
    form = None
    if estate_import.status == EstateImportStatus.DRAFT:
        form = _sites_form(request, estate_import, request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            estate_import_queue(estate_import=estate_import, site_choices=form.site_choices())
            return redirect(estate_import)
    elif request.method == "POST":
        return redirect(estate_import)  # already queued: a second click changes nothing
    summary = estate_import.summary or {}
    return render(
        request,
        "inventory/estate_import_detail.html",
        {
            "item": estate_import,
            "form": form,
            "summary": summary,
            "counts": summary.get("counts", {}),
            "progress_percent": round(100 * (estate_import.progress or 0)),
            "more_errors": max(estate_import.error_count - len(estate_import.errors or []), 0),
            "more_warnings": max(summary.get("warning_count", 0) - len(summary.get("warnings", [])), 0),
        },
        status=400 if form is not None and form.is_bound else 200,
    )


@require_GET
@operator_required
def estate_import_status(request, pk: int):
    """What the progress bar polls: status, progress (0-1), stage; and, once finished, where to read the rest."""
    row = get_object_or_404(
        EstateImport.objects.values("pk", "status", "progress", "stage", "error_count", "message", "estate_id"), pk=pk
    )
    row["finished"] = row["status"] in (
        EstateImportStatus.SUCCEEDED, EstateImportStatus.REFUSED, EstateImportStatus.FAILED
    )  # fmt: skip
    return JsonResponse(row)
