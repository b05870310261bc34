from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hybridcloud.core.lists import csv_response, table_list
from hybridcloud.core.views import operator_required
from migration.dr import schedules, selectors, services
from migration.dr.filtersets import RecoveryPlanFilterSet
from migration.dr.forms import DAY_CHOICES, REASON_REQUIRED, PlannedMigrationForm, ScheduleForm
from migration.dr.models import DrillRun, RecoveryPlan
from migration.dr.tables import RecoveryPlanTable

PLAN_EXPORT_HEADER = ["name", "enabled", "protected_site", "recovery_site", "groups", "workloads", "target_rto_s",
                      "schedule", "last_drill_finished_at", "last_drill_rto_s", "last_drill_verdict"]  # fmt: skip


@require_GET
def plan_list(request):
    plans = table_list(
        request, queryset=selectors.plan_list(), filterset_class=RecoveryPlanFilterSet, table_class=RecoveryPlanTable
    )
    return render(
        request,
        "dr/plan_list.html",
        {"plans": plans, "coverage": selectors.site_coverage(), "dr_alerts": selectors.failed_drill_alerts()},
    )


@require_GET
def plan_export(request):
    """The plans the page shows (same search and sort) as CSV."""
    plans = RecoveryPlanFilterSet(request.GET, queryset=selectors.plan_list()).qs
    rows = (
        [p.name, p.enabled, p.protected_site.name, p.recovery_site.name, p.group_count, p.workload_count,
         p.target_rto_s, str(p.schedule.crontab) if p.schedule and p.schedule.enabled else "",
         p.last_finished_at.isoformat() if p.last_finished_at else "", p.last_rto_s or "", p.last_verdict or ""]
        for p in plans
    )  # fmt: skip
    return csv_response(name="dr-plans", header=PLAN_EXPORT_HEADER, rows=rows)


def _schedule_initial(plan: RecoveryPlan) -> dict:
    crontab = plan.schedule.crontab if plan.schedule and plan.schedule.crontab else None
    if crontab is None:
        return {"enabled": True, "time": "02:00", "days": "*"}
    try:
        time = f"{int(crontab.hour):02d}:{int(crontab.minute):02d}"
    except ValueError:
        time = "02:00"
    days = crontab.day_of_week if crontab.day_of_week in dict(DAY_CHOICES) else "*"
    return {"enabled": plan.schedule.enabled, "time": time, "days": days}


@require_GET
def plan_detail(request, pk: int):
    try:
        plan = selectors.plan_detail(pk)
    except RecoveryPlan.DoesNotExist:
        raise Http404("No such recovery plan.") from None
    return render(
        request,
        "dr/plan_detail.html",
        {
            "plan": plan,
            "groups": list(plan.groups.all()),
            "drills": selectors.plan_drills(plan),
            "trend": selectors.rto_trend(plan),
            "schedule_form": ScheduleForm(initial=_schedule_initial(plan)),
            "active_drill": plan.drills.filter(state__in=["queued", "running"]).first(),
        },
    )


@require_POST
@operator_required
def plan_schedule(request, pk: int):
    plan = get_object_or_404(RecoveryPlan.objects.select_related("schedule"), pk=pk)
    form = ScheduleForm(request.POST)
    if form.is_valid():
        if form.cleaned_data["remove"]:
            schedules.plan_schedule_clear(plan=plan)
            messages.success(request, f"The drill schedule of {plan.name} was removed.")
        else:
            at = form.cleaned_data["time"]
            schedules.plan_schedule_set(
                plan=plan,
                hour=at.hour,
                minute=at.minute,
                day_of_week=form.cleaned_data["days"],
                enabled=form.cleaned_data["enabled"],
            )
            state = "on" if form.cleaned_data["enabled"] else "paused"
            messages.success(
                request,
                f"Drills of {plan.name} scheduled at {at:%H:%M} ({dict(DAY_CHOICES)[form.cleaned_data['days']]}), "
                f"{state}.",
            )
    else:
        messages.error(
            request, "The schedule was not saved: " + "; ".join(e for es in form.errors.values() for e in es)
        )
    return redirect(plan)


@require_POST
@operator_required
def plan_start_drill(request, pk: int):
    plan = get_object_or_404(RecoveryPlan, pk=pk)
    try:
        run = services.drill_start(plan=plan, started_by=request.user)
    except services.DrillNotStarted as exc:
        messages.error(request, str(exc))
        return redirect(plan)
    return redirect(run)


@require_http_methods(["GET", "POST"])
@operator_required
def plan_planned_migration(request, pk: int):
    """GET: what a planned migration would move and what would stop it; POST: start it (operators only)."""
    plan = get_object_or_404(RecoveryPlan.objects.select_related("protected_site", "recovery_site"), pk=pk)
    form = PlannedMigrationForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            run = services.planned_migration_start(
                plan=plan, started_by=request.user, override_reason=form.cleaned_data["override_reason"]
            )
        except services.OverrideReasonRequired:
            form.add_error("override_reason", REASON_REQUIRED)  # the page again, with the warnings and the field
        except services.PlannedMigrationRefused as exc:
            messages.error(request, "The planned migration was not started: " + " ".join(exc.errors))
            return redirect("dr:plan_planned_migration", pk=plan.pk)
        except services.DrillNotStarted as exc:
            messages.error(request, str(exc))
            return redirect(plan)
        else:
            return redirect(run)
    return render(
        request,
        "dr/planned_migration_confirm.html",
        {
            "form": form,
            "plan": plan,
            "preview": selectors.planned_migration_preview(plan),
            "active_drill": plan.drills.filter(state__in=["queued", "running"]).first(),
        },
    )


@require_GET
def drill_detail(request, pk: int):
    run = get_object_or_404(DrillRun.objects.select_related("plan__protected_site", "plan__recovery_site"), pk=pk)
    return render(request, "dr/drill_detail.html", {"run": run, "state": selectors.drill_state(run)})


@require_POST
@operator_required
def drill_cancel(request, pk: int):
    run = get_object_or_404(DrillRun, pk=pk)
    if services.drill_cancel(run=run, by=request.user):
        messages.success(request, f"Drill #{run.pk} cancelled.")
    else:
        messages.warning(request, f"Drill #{run.pk} had already ended.")
    return redirect(run)


@require_GET
def drill_report(request, pk: int):
    try:
        run, steps, results = selectors.drill_report(pk)
    except DrillRun.DoesNotExist:
        raise Http404("No such drill.") from None
    recovered = [r for r in results if r.state == "recovered"]
    return render(
        request,
        "dr/drill_report.html",
        {
            "run": run,
            "steps": steps,
            "results": results,
            "recovered_count": len(recovered),
            "rpo_violations": sum(1 for r in results if not r.rpo_met),
            "timeline": selectors.drill_state(run),
        },
    )
