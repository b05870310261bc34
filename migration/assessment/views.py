from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hybridcloud.core.lists import list_response, table_list
from hybridcloud.core.views import operator_required
from inventory.selectors import link_list
from migration.assessment import exports, selectors, services
from migration.assessment.choices import MoveMode, ScopeKind
from migration.assessment.filtersets import AssessmentFilterSet
from migration.assessment.forms import AssessmentForm, AssumptionsForm
from migration.assessment.tables import AssessmentTable

ROWS_PER_PAGE = 100


@require_GET
def index(request):
    table = table_list(
        request, queryset=selectors.assessment_list(), filterset_class=AssessmentFilterSet, table_class=AssessmentTable
    )
    if export := list_response(request, [table]):
        return export
    return render(request, "assessment/index.html", {"assessments": table})


@require_http_methods(["GET", "POST"])
@operator_required
def new(request):
    if request.method == "POST":
        form = AssessmentForm(request.POST)
        if form.is_valid():
            try:
                assessment = services.assessment_create(**form.service_kwargs(), user=request.user)
            except services.AssessmentRefused as exc:
                form.add_service_errors(exc.field_errors)
            else:
                return redirect(assessment)
    else:
        initial = {"scope_kind": ScopeKind.SITE}
        if "query" in request.GET:  # from the workloads page's "Assess moving these"
            initial = {"scope_kind": ScopeKind.FILTER, "scope_query": request.GET["query"]}
        for name in ("scope_kind", "scope_site", "scope_cluster", "scope_estate", "destination"):
            if request.GET.get(name):
                initial[name] = request.GET[name]
        form = AssessmentForm(initial=initial)
    scope = ("name", "scope_kind", "scope_site", "scope_cluster", "scope_estate", "scope_query", "destination")
    return render(
        request,
        "assessment/new.html",
        {"form": form, "links": link_list(), "scope_fields": [form[name] for name in scope],
         "scenario_fields": [form[name] for name in AssessmentForm.SCENARIO]},
    )  # fmt: skip


@require_GET
def detail(request, pk: int):
    assessment = selectors.assessment_get(pk)
    rows = selectors.assessment_rows(assessment)
    mode = request.GET.get("mode", "")
    if mode in MoveMode.values:
        rows = rows.filter(mode=mode)
    page = Paginator(rows, ROWS_PER_PAGE).get_page(request.GET.get("page"))
    dirty = [a for a in assessment.assumptions or [] if a.get("kind") == "dirty_rate"]
    return render(
        request,
        "assessment/detail.html",
        {
            "assessment": assessment,
            "summary": assessment.summary or {},
            "page": page,
            "mode": mode,
            "modes": MoveMode.choices,
            "dirty_assumptions": dirty,
            "other_assumptions": [a for a in assessment.assumptions or [] if a.get("kind") != "dirty_rate"],
            "assumptions_form": AssumptionsForm(classes=dirty),
            "charts": selectors.assessment_charts(assessment) if assessment.status == "done" else None,
            "progress": selectors.assessment_progress(assessment),
        },
    )


@require_GET
def progress(request, pk: int):
    return JsonResponse(selectors.assessment_progress(selectors.assessment_get(pk)))


@require_POST
@operator_required
def rerun(request, pk: int):
    assessment = selectors.assessment_get(pk)
    dirty = [a for a in assessment.assumptions or [] if a.get("kind") == "dirty_rate"]
    form = AssumptionsForm(request.POST, classes=dirty)
    if not form.is_valid():
        messages.error(request, "Not re-run: " + "; ".join(f"{form.fields[k].label}: {' '.join(v)}"
                                                            for k, v in form.errors.items()))  # fmt: skip
        return redirect(assessment)
    try:
        again = services.assessment_rerun(assessment=assessment, dirty_rate_mb_s=form.rates(), user=request.user)
    except services.AssessmentRefused as exc:
        messages.error(request, "Not re-run: " + "; ".join(exc.field_errors.values()))
        return redirect(assessment)
    messages.success(request, f"Re-running as assessment #{again.pk} with the edited assumptions.")
    return redirect(again)


@require_GET
def export_csv(request, pk: int):
    assessment = selectors.assessment_get(pk)
    response = StreamingHttpResponse(exports.csv_lines(assessment), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="assessment-{assessment.pk}.csv"'
    return response


@require_GET
def export_xlsx(request, pk: int):
    assessment = selectors.assessment_get(pk)
    response = HttpResponse(
        exports.xlsx_bytes(assessment),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="assessment-{assessment.pk}.xlsx"'
    return response


@require_GET
def compare(request):
    raw = request.GET.getlist("ids")
    ids = [int(v) for v in raw if v.isdigit() and len(v) < 10]
    error = ""
    if not raw:  # nothing chosen yet: the chooser
        return render(request, "assessment/compare.html", {"choices": selectors.assessment_list()[:100]})
    if len(ids) != len(raw):
        error = "Assessments are named by their numbers (ids=1&ids=2)."
    elif not 2 <= len(set(ids)) <= 4:
        error = "Choose two to four different assessments to compare."
    assessments = selectors.assessments_for_compare(list(dict.fromkeys(ids))) if not error else []
    if not error and len(assessments) != len(set(ids)):
        missing = sorted(set(ids) - {a.pk for a in assessments})
        error = f"No assessment #{', #'.join(map(str, missing))}."
    if error:
        choices = selectors.assessment_list()[:100]
        return render(request, "assessment/compare.html", {"error": error, "choices": choices}, status=400)
    return render(
        request,
        "assessment/compare.html",
        {"assessments": assessments, "table": selectors.compare_table(assessments),
         "choices": selectors.assessment_list()[:100]},
    )  # fmt: skip
