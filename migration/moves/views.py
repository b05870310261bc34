from itertools import groupby

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from hybridcloud.core.lists import list_response, table_list
from hybridcloud.core.roles import is_operator
from migration.moves import selectors
from migration.moves.choices import MoveGroupState
from migration.moves.filtersets import EndedMoveGroupFilterSet, ended_groups
from migration.moves.forms import MoveGroupForm, ScheduleForm
from migration.moves.services import (
    MoveGroupRefused,
    move_group_cancel,
    move_group_create,
    move_group_precheck,
    move_group_reschedule,
)
from migration.moves.tables import EndedMoveGroupTable


def _operator_only(request, what: str) -> None:
    if not is_operator(request.user):
        raise PermissionDenied(f"Only operators may {what}.")


def move_group_list(request):
    groups = selectors.move_group_list()
    upcoming = groups.filter(state__in=(MoveGroupState.SCHEDULED, MoveGroupState.RUNNING))
    days = [(day, list(items)) for day, items in groupby(upcoming, key=lambda g: timezone.localtime(g.start_at).date())]
    ended = table_list(
        request, queryset=ended_groups(groups), filterset_class=EndedMoveGroupFilterSet,
        table_class=EndedMoveGroupTable, prefix="ended",
    )  # fmt: skip
    if export := list_response(request, [ended]):
        return export
    return render(
        request,
        "migration/moves/list.html",
        {"days": days, "ended": ended, "can_operate": is_operator(request.user), "today": timezone.localdate()},
    )


def _selection(request) -> tuple[list, list[str], dict]:
    source = request.POST if request.method == "POST" else request.GET
    if source.get("all") == "1":
        query = source.get("query", "")
        workloads, problems = selectors.selected_workloads(query=query)
        return workloads, problems, {"all": "1", "query": query}
    ids = []
    for raw in source.getlist("workload"):
        if not raw.isdigit():
            return [], [f"{raw!r} is not a workload id."], {}
        ids.append(int(raw))
    workloads, problems = selectors.selected_workloads(ids=ids)
    return workloads, problems, {"ids": ids}


def move_group_new(request):
    _operator_only(request, "move workloads")
    workloads, problems, carried = _selection(request)
    if not workloads and not problems:
        problems = ["Select at least one workload in the workloads table."]
    form = MoveGroupForm(request.POST or None)
    check = None
    if request.method == "POST" and not problems and form.is_valid():
        data = form.cleaned_data
        options = {"workloads": workloads, **form.move_options()}
        if request.POST.get("action") == "create":
            try:
                group = move_group_create(
                    **options, name=data["name"], concurrency=data["concurrency"],
                    override_reason=data["override_reason"], leave_out_blocked=data["leave_out_blocked"],
                    start_at=data["start_at"], window_start=data["window_start"], window_end=data["window_end"],
                    on_window_close=data["on_window_close"], by=request.user,
                )  # fmt: skip
            except MoveGroupRefused as refused:
                form.add_error(None, refused.errors)
            else:
                messages.success(
                    request, f"{group.name}: {group.members.count()} workloads, {group.get_state_display().lower()}."
                )
                return redirect(group.get_absolute_url())
        check = move_group_precheck(**options)
    return render(
        request,
        "migration/moves/new.html",
        {"workloads": workloads, "problems": problems, "carried": carried, "form": form, "check": check},
        status=400 if problems and request.method == "POST" else 200,
    )


def move_group_detail(request, pk: int):
    group = get_object_or_404(selectors.move_group_list(), pk=pk)
    return render(
        request,
        "migration/moves/detail.html",
        {
            "group": group,
            "progress": selectors.move_group_progress(group=group),
            "can_operate": is_operator(request.user),
        },
    )


def move_group_edit(request, pk: int):
    _operator_only(request, "edit scheduled moves")
    group = get_object_or_404(selectors.move_group_list(), pk=pk)
    local = {
        f: timezone.localtime(getattr(group, f)) if getattr(group, f) else None
        for f in ("start_at", "window_start", "window_end")
    }
    form = ScheduleForm(
        request.POST or None,
        initial={**local, "on_window_close": group.on_window_close, "concurrency": group.concurrency},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            move_group_reschedule(
                group=group, start_at=data["start_at"] or timezone.now(), window_start=data["window_start"],
                window_end=data["window_end"], on_window_close=data["on_window_close"],
                concurrency=data["concurrency"], by=request.user,
            )  # fmt: skip
        except MoveGroupRefused as refused:
            form.add_error(None, refused.errors)
        else:
            messages.success(request, f"{group.name} rescheduled.")
            return redirect("moves:list")
    return render(request, "migration/moves/edit.html", {"group": group, "form": form})


@require_POST
def move_group_cancel_view(request, pk: int):
    _operator_only(request, "cancel moves")
    group = get_object_or_404(selectors.move_group_list(), pk=pk)
    try:
        move_group_cancel(group=group, by=request.user)
    except MoveGroupRefused as refused:
        messages.error(request, " ".join(refused.errors))
    else:
        messages.success(request, f"{group.name} cancelled; the workloads not yet switched over stay on their sources.")
    return redirect(group.get_absolute_url())
