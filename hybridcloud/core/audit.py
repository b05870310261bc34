"""The audit trail: one function records an entry, whoever calls it (pages, API, admin, services, tasks).

    audit_record(action="migration.start", target=migration, after=model_snapshot(migration))

The request (for the actor, source address, user agent and channel) comes from the argument or, when the
caller is a service deep below a view, from `current_request()`: `AuditRequestMiddleware` puts every request
in a context variable for its duration. Outside a request (Celery, management commands) the actor is
"system" (or "schedule" with via="schedule") unless one is passed.
"""

from __future__ import annotations

import contextvars
import json
from typing import Any

from django.conf import settings
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.http import HttpRequest

from hybridcloud.core.models import AuditEntry, AuditVia

_current_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar("audit_request", default=None)


def current_request() -> HttpRequest | None:
    """The HTTP request being handled in this context, if any."""
    return _current_request.get()


def set_current_request(request: HttpRequest | None) -> contextvars.Token:
    return _current_request.set(request)


def reset_current_request(token: contextvars.Token) -> None:
    _current_request.reset(token)


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder, default=str))


def model_snapshot(instance: models.Model | None) -> dict | None:
    """The instance's field values as JSON-safe data: foreign keys as ids, many-to-many as sorted id lists."""
    if instance is None:
        return None
    data: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        data[field.name] = field.value_from_object(instance)
    if instance.pk is not None:
        for field in instance._meta.many_to_many:
            data[field.name] = sorted(obj.pk for obj in getattr(instance, field.name).all())
    return _json_safe(data)


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or the first X-Forwarded-For address when the deployment trusts a proxy."""
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        first = forwarded.split(",")[0].strip()
        if first:
            return first
    return request.META.get("REMOTE_ADDR") or None


def via_of(request: HttpRequest) -> str:
    path = request.path_info or ""
    if path.startswith("/" + settings.ADMIN_URL):
        return AuditVia.ADMIN
    if path.startswith("/containers/docker") or path.startswith("/docker"):
        return AuditVia.DOCKER
    if path.startswith("/api/"):
        return AuditVia.API
    return AuditVia.UI


def audit_record(
    *,
    action: str,
    target: models.Model | None = None,
    actor=None,
    before: dict | None = None,
    after: dict | None = None,
    request: HttpRequest | None = None,
    via: str | None = None,
    message: str = "",
) -> AuditEntry:
    """Records one entry. `actor` defaults to the request's user; `via` to the channel the request came by."""
    request = request if request is not None else current_request()
    # A DRF Request wraps the HttpRequest; its authenticated user is copied onto the HttpRequest.
    http_request = getattr(request, "_request", request)
    if actor is None and request is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            actor = user
    if actor is not None and not actor.is_authenticated:
        actor = None
    if via is None:
        via = via_of(http_request) if http_request is not None else AuditVia.CLI
    label = actor.get_username() if actor is not None else ("schedule" if via == AuditVia.SCHEDULE else "system")
    entry = AuditEntry(
        actor=actor,
        actor_label=label[:150],
        action=action,
        before=_json_safe(before) if before is not None else None,
        after=_json_safe(after) if after is not None else None,
        via=via,
        message=message,
    )
    if target is not None:
        # Not get_for_model(): its process-wide cache outlives a database flush (tests against a long-lived
        # server), and a stale id would make the insert fail. One indexed lookup per entry is cheap.
        meta = target._meta
        entry.object_type = ContentType.objects.filter(app_label=meta.app_label, model=meta.model_name).first()
        entry.object_id = str(target.pk) if target.pk is not None else ""
        entry.object_repr = str(target)[:200]
    if http_request is not None:
        entry.source_ip = client_ip(http_request)
        entry.user_agent = http_request.META.get("HTTP_USER_AGENT", "")[:300]
    entry.save()
    return entry


class AuditedModelAdmin:
    """A ModelAdmin mixin: records every save, delete, bulk delete and bulk action with before and after values.

    Put it first in the bases: `class HostAdmin(AuditedModelAdmin, admin.ModelAdmin)`.
    """

    def _audit_action(self, verb: str) -> str:
        return f"{self.model._meta.app_label}.{verb}"

    def save_model(self, request, obj, form, change):
        if change and obj.pk is not None:
            old = type(obj)._default_manager.filter(pk=obj.pk).first()
            request._audit_before = model_snapshot(old)
        else:
            request._audit_before = None
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        # Many-to-many values are saved here, after save_model: record once they are in.
        super().save_related(request, form, formsets, change)
        obj = form.instance
        audit_record(
            action=self._audit_action("change" if change else "create"),
            target=obj,
            before=getattr(request, "_audit_before", None),
            after=model_snapshot(obj),
            request=request,
            via=AuditVia.ADMIN,
        )

    def save_formset(self, request, form, formset, change):
        """Inline rows (hosts of a cluster, datastores of a site...): each created, changed or deleted row."""
        befores = {}
        for inline_form in formset.forms:
            instance = inline_form.instance
            if instance.pk is not None and inline_form.has_changed():
                befores[id(instance)] = model_snapshot(formset.model._default_manager.filter(pk=instance.pk).first())
        super().save_formset(request, form, formset, change)
        parent = f"Inline of {form.instance._meta.verbose_name} {form.instance}."
        for obj in getattr(formset, "new_objects", []):
            audit_record(
                action=self._audit_action("create"), target=obj, after=model_snapshot(obj), request=request,
                via=AuditVia.ADMIN, message=parent,
            )  # fmt: skip
        for obj, _fields in getattr(formset, "changed_objects", []):
            audit_record(
                action=self._audit_action("change"), target=obj, before=befores.get(id(obj)),
                after=model_snapshot(obj), request=request, via=AuditVia.ADMIN, message=parent,
            )  # fmt: skip
        for obj in getattr(formset, "deleted_objects", []):
            audit_record(
                action=self._audit_action("delete"), target=obj, before=befores.get(id(obj)), request=request,
                via=AuditVia.ADMIN, message=parent,
            )  # fmt: skip

    def delete_model(self, request, obj):
        before, pk = model_snapshot(obj), obj.pk
        super().delete_model(request, obj)
        obj.pk = pk
        audit_record(
            action=self._audit_action("delete"), target=obj, before=before, request=request, via=AuditVia.ADMIN
        )

    def delete_queryset(self, request, queryset):
        doomed = [(obj, model_snapshot(obj)) for obj in queryset]
        super().delete_queryset(request, queryset)
        for obj, before in doomed:
            audit_record(
                action=self._audit_action("delete"),
                target=obj,
                before=before,
                request=request,
                via=AuditVia.ADMIN,
                message="Bulk delete from the admin.",
            )

    def response_action(self, request, queryset):
        action = request.POST.get("action", "")
        if not action or action == "delete_selected":
            return super().response_action(request, queryset)
        selected = request.POST.getlist(ACTION_CHECKBOX_NAME)
        scope = queryset if request.POST.get("select_across") == "1" else queryset.filter(pk__in=selected)
        manager = self.model._default_manager
        pks = list(scope.values_list("pk", flat=True))
        before = {obj.pk: model_snapshot(obj) for obj in manager.filter(pk__in=pks)}
        response = super().response_action(request, queryset)
        for obj in manager.filter(pk__in=pks):
            after = model_snapshot(obj)
            if after != before.get(obj.pk):
                audit_record(
                    action=self._audit_action("change"),
                    target=obj,
                    before=before.get(obj.pk),
                    after=after,
                    request=request,
                    via=AuditVia.ADMIN,
                    message=f"Admin action: {action}.",
                )
        return response
