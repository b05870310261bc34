from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hybridcloud.core.lists import list_response, table_list
from hybridcloud.core.views import operator_required, require_operator
from inventory.models import Host, Site
from inventory.selectors import site_list
from migration.capacity import selectors
from migration.capacity.filtersets import EvacuationFilterSet, RecommendationFilterSet
from migration.capacity.forms import REASON_REQUIRED, SiteEvacuationForm, WindowForm
from migration.capacity.models import CapacitySettings
from migration.capacity.services import evacuations, recommendations
from migration.capacity.services.refusals import CapacityActionRefused, OverrideReasonRequired
from migration.capacity.tables import EvacuationTable, RecommendationTable


@require_GET
def index(request):
    lists = [
        table_list(request, queryset=selectors.recommendation_list(), filterset_class=RecommendationFilterSet,
                   table_class=RecommendationTable, prefix="recommendations"),
        table_list(request, queryset=selectors.evacuation_list(), filterset_class=EvacuationFilterSet,
                   table_class=EvacuationTable, prefix="evacuations", per_page=20),
    ]  # fmt: skip
    if export := list_response(request, lists):
        return export
    charts = selectors.overview_charts(request.GET.get("range"))
    return render(
        request,
        "capacity/index.html",
        {
            "charts": charts,
            "range": charts["range"],
            "ranges": list(selectors.RANGES),
            "settings": CapacitySettings.get(),
            "sites": site_list(),
            "recommendations": lists[0],
            "evacuations": lists[1],
        },
    )


@require_GET
def host_detail(request, pk: int):
    host = get_object_or_404(Host.objects.select_related("cluster__site"), pk=pk)
    chart = selectors.host_chart(host, request.GET.get("range"))
    return render(
        request,
        "capacity/host_detail.html",
        {"host": host, "chart": chart, "range": chart["range"], "ranges": list(selectors.RANGES)},
    )


@require_POST
@operator_required
def site_recommend(request, pk: int):
    site = get_object_or_404(Site, pk=pk)
    recs = recommendations.recommendations_compute(site=site)
    if recs:
        messages.success(request, f"{len(recs)} proposal(s) for {site.name} at its next peak.")
    else:
        messages.info(request, f"{site.name} stays under the thresholds at its next peak: nothing to move.")
    return redirect("capacity:index")


@require_GET
def recommendation_detail(request, pk: int):
    rec = selectors.recommendation_get(pk)
    warned = sum(1 for move in rec.moves.all() if move.warnings)  # the apply form asks for a reason when > 0
    return render(request, "capacity/recommendation_detail.html", {"rec": rec, "warned_moves": warned})


@require_POST
@operator_required
def recommendation_apply(request, pk: int):
    rec = selectors.recommendation_get(pk)
    try:
        results = recommendations.recommendation_apply(
            recommendation=rec, user=request.user, override_reason=request.POST.get("override_reason", "")
        )
    except OverrideReasonRequired:
        messages.error(request, REASON_REQUIRED)
        return redirect(rec)
    except CapacityActionRefused as exc:
        messages.error(request, " ".join(exc.errors))
        return redirect(rec)
    started = sum(r["outcome"] == "started" for r in results)
    queued = sum(r["outcome"] == "queued" for r in results)
    refused = sum(r["outcome"] == "refused" for r in results)
    messages.success(request, f"Applied: {started} started, {queued} queued, {refused} refused.")
    return redirect(rec)


@require_POST
@operator_required
def recommendation_dismiss(request, pk: int):
    rec = selectors.recommendation_get(pk)
    try:
        recommendations.recommendation_dismiss(recommendation=rec, user=request.user)
        messages.success(request, f"Recommendation #{rec.pk} dismissed.")
    except CapacityActionRefused as exc:
        messages.error(request, " ".join(exc.errors))
    return redirect("capacity:index")


@require_http_methods(["GET", "POST"])
def host_evacuate(request, pk: int):
    host = get_object_or_404(Host.objects.select_related("cluster__site"), pk=pk)
    if request.method == "POST":
        require_operator(request)
    form = WindowForm(request.POST if request.method == "POST" else (request.GET or None))
    window = form.cleaned_data if form.is_bound and form.is_valid() else {}
    if request.method == "POST" and form.is_valid():
        try:
            evacuation = evacuations.host_evacuate(
                host=host, user=request.user, window_start=window.get("window_start"),
                window_end=window.get("window_end"), override_reason=window.get("override_reason", ""),
            )  # fmt: skip
        except OverrideReasonRequired:
            form.add_error("override_reason", REASON_REQUIRED)  # the page again, with the warnings and the field
        except CapacityActionRefused as exc:
            messages.error(request, " ".join(exc.errors))
            return redirect("capacity:host_evacuate", pk=host.pk)
        else:
            return redirect(evacuation)
    plan = evacuations.evacuation_plan(host=host, window_start=window.get("window_start"),
                                    window_end=window.get("window_end"))  # fmt: skip
    return render(request, "capacity/evacuate_confirm.html", {"plan": plan, "form": form, "subject": host.name})


@require_http_methods(["GET", "POST"])
def site_evacuate(request, pk: int):
    site = get_object_or_404(Site, pk=pk)
    if request.method == "POST":
        require_operator(request)  # before the form: a viewer's POST is refused whatever it carries
    data = request.POST if request.method == "POST" else (request.GET or None)
    form = SiteEvacuationForm(data, site=site)
    plan = None
    if form.is_bound and form.is_valid():
        window = form.cleaned_data
        if request.method == "POST":
            try:
                evacuation = evacuations.site_evacuate(
                    site=site, destination_site=window["destination"], user=request.user,
                    window_start=window.get("window_start"), window_end=window.get("window_end"),
                    override_reason=window.get("override_reason", ""),
                )  # fmt: skip
            except OverrideReasonRequired:
                form.add_error("override_reason", REASON_REQUIRED)
            except CapacityActionRefused as exc:
                messages.error(request, " ".join(exc.errors))
                return redirect("capacity:index")
            else:
                return redirect(evacuation)
        plan = evacuations.evacuation_plan(
            site=site, destination_site=window["destination"], window_start=window.get("window_start"),
            window_end=window.get("window_end"),
        )  # fmt: skip
    return render(
        request, "capacity/evacuate_confirm.html", {"plan": plan, "form": form, "subject": site.name, "site": site}
    )


@require_GET
def evacuation_detail(request, pk: int):
    evacuation = selectors.evacuation_get(pk)
    return render(
        request,
        "capacity/evacuation_detail.html",
        {"evacuation": evacuation, "progress": selectors.evacuation_progress(evacuation)},
    )


@require_GET
def evacuation_progress(request, pk: int):
    return JsonResponse(selectors.evacuation_progress(selectors.evacuation_get(pk)))
