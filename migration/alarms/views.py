from celery import current_app
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from hybridcloud.core.lists import list_response, table_list
from hybridcloud.core.roles import is_operator
from hybridcloud.core.views import operator_required
from migration.alarms import selectors, services
from migration.alarms.filtersets import (
    AlarmFilterSet,
    AlarmRuleFilterSet,
    DeliveryFilterSet,
    WebhookEndpointFilterSet,
)
from migration.alarms.forms import AlarmRuleForm, NoteForm, WebhookEndpointForm
from migration.alarms.models import Alarm, AlarmRule, WebhookEndpoint
from migration.alarms.tables import AlarmRuleTable, AlarmTable, DeliveryTable, WebhookEndpointTable

ADMINS_ONLY = "Only administrators may change alarm rules and webhook endpoints."


def can_edit(user) -> bool:
    """Admins edit rules and endpoints: whoever holds the model permission (superusers, or granted in the admin)."""
    return user.has_perm("alarms.change_alarmrule") and user.has_perm("alarms.change_webhookendpoint")


def _require_admin(request) -> None:
    if not can_edit(request.user):
        raise PermissionDenied(ADMINS_ONLY)


@require_GET
def index(request):
    can_act = is_operator(request.user)
    table = table_list(
        request, queryset=selectors.alarm_list(), filterset_class=AlarmFilterSet, table_class=AlarmTable,
        exclude=() if can_act else ("actions",),
    )  # fmt: skip
    if export := list_response(request, [table]):
        return export
    return render(
        request, "alarms/list.html", {"table": table, "counts": selectors.open_alarm_counts(), "can_act": can_act}
    )


@require_GET
def detail(request, pk: int):
    try:
        alarm = selectors.alarm_detail(pk)
    except Alarm.DoesNotExist:
        raise Http404("No such alarm.") from None
    return render(request, "alarms/detail.html", {"alarm": alarm, "can_act": is_operator(request.user)})


@operator_required
def _act(request, pk: int, action):
    alarm = get_object_or_404(Alarm, pk=pk)
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The note is too long (at most 1,000 characters).")
    else:
        try:
            action(alarm_id=alarm.pk, user=request.user, note=form.cleaned_data["note"])
        except services.AlarmStateError as exc:
            messages.error(request, " ".join(exc.errors))
    # Back to the list when the button was there, else to the alarm (never to a URL taken from the request).
    return redirect("alarms:index" if request.POST.get("next") == "alarms:index" else alarm)


@require_POST
def acknowledge(request, pk: int):
    return _act(request, pk, services.alarm_acknowledge)


@require_POST
def clear(request, pk: int):
    return _act(request, pk, services.alarm_clear)


@require_GET
def rule_list(request):
    rules = table_list(
        request, queryset=selectors.rule_list(), filterset_class=AlarmRuleFilterSet, table_class=AlarmRuleTable
    )
    if export := list_response(request, [rules]):
        return export
    rules.can_edit = can_edit(request.user)
    return render(request, "alarms/rules.html", {"table": rules, "can_edit": rules.can_edit})


@require_http_methods(["GET", "POST"])
def rule_edit(request, pk: int | None = None):
    rule = get_object_or_404(AlarmRule, pk=pk) if pk is not None else AlarmRule()
    if request.method == "POST" or pk is None:
        _require_admin(request)  # anyone with a role reads a rule; only admins open a new one or save
    condition = rule.condition if rule.pk else ""  # as saved: validating the form changes the instance
    form = AlarmRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        services.alarm_rule_save(
            rule=form.save(commit=False), webhooks=form.cleaned_data["webhooks"], user=request.user
        )
        messages.success(request, f"Rule “{rule.name}” saved.")
        return redirect("alarms:rules")
    context = {"form": form, "rule": rule, "condition": condition, "can_edit": can_edit(request.user)}
    return render(request, "alarms/rule_form.html", context)


@require_POST
def evaluate_now(request):
    """Evaluate every rule now (the beat does it every minute)."""
    _require_admin(request)
    current_app.send_task("migration.alarms.tasks.evaluate")
    messages.info(request, "Evaluating the rules now; new alarms appear in the activity panel.")
    return redirect("alarms:rules")


@require_GET
def webhooks(request):
    endpoints = table_list(
        request, queryset=selectors.endpoint_list(), filterset_class=WebhookEndpointFilterSet,
        table_class=WebhookEndpointTable, prefix="endpoints",
    )  # fmt: skip
    endpoints.can_edit = can_edit(request.user)
    deliveries = table_list(
        request, queryset=selectors.delivery_list(), filterset_class=DeliveryFilterSet, table_class=DeliveryTable
    )
    if export := list_response(request, [endpoints, deliveries]):
        return export
    return render(
        request,
        "alarms/webhooks.html",
        {"endpoints": endpoints, "deliveries": deliveries, "can_edit": endpoints.can_edit},
    )


@require_http_methods(["GET", "POST"])
def webhook_edit(request, pk: int | None = None):
    _require_admin(request)  # the form shows the secret: admins only, even to read
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk) if pk is not None else WebhookEndpoint()
    form = WebhookEndpointForm(request.POST or None, instance=endpoint)
    if request.method == "POST" and form.is_valid():
        services.webhook_endpoint_save(endpoint=form.save(commit=False), user=request.user)
        messages.success(request, f"Webhook endpoint “{endpoint.name}” saved.")
        return redirect("alarms:webhooks")
    return render(request, "alarms/webhook_form.html", {"form": form, "endpoint": endpoint})
