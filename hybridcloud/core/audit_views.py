"""The audit page (`/audit/`) and its CSV export: operators and administrators only.

Viewers get 403: the trail holds source addresses and user agents, and who did what is a matter for the
people who act on the cloud, not for read-only users.
"""

import json

from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from hybridcloud.core.filtersets import AuditEntryFilterSet
from hybridcloud.core.lists import csv_response, table_list
from hybridcloud.core.models import KNOWN_ACTIONS, AuditEntry
from hybridcloud.core.roles import is_operator
from hybridcloud.core.tables import AuditEntryTable

CSV_HEADER = [
    "at", "actor", "action", "object_type", "object_id", "object", "via", "source_ip", "user_agent", "message",
    "before", "after",
]  # fmt: skip


def can_read_audit(user) -> bool:
    return is_operator(user) or bool(user.is_authenticated and user.is_active and user.is_staff)


def _require_audit_reader(request) -> None:
    if not can_read_audit(request.user):
        raise PermissionDenied("Only operators and administrators may read the audit trail.")


def _queryset():
    return AuditEntry.objects.select_related("object_type")


def audit_list(request):
    _require_audit_reader(request)
    table = table_list(request, queryset=_queryset(), filterset_class=AuditEntryFilterSet, table_class=AuditEntryTable)
    return render(request, "hybridcloud/audit_list.html", {"table": table, "known_actions": KNOWN_ACTIONS})


def audit_export(request):
    """The filtered, sorted trail as CSV, streamed (constant memory whatever its length)."""
    _require_audit_reader(request)
    entries = AuditEntryFilterSet(request.GET, queryset=_queryset()).qs

    def rows():
        for e in entries.iterator(chunk_size=2000):
            yield [
                e.at.isoformat(), e.actor_label, e.action,
                f"{e.object_type.app_label}.{e.object_type.model}" if e.object_type else "",
                e.object_id, e.object_repr, e.via, e.source_ip or "", e.user_agent, e.message,
                json.dumps(e.before, sort_keys=True) if e.before is not None else "",
                json.dumps(e.after, sort_keys=True) if e.after is not None else "",
            ]  # fmt: skip

    return csv_response(name="audit", header=CSV_HEADER, rows=rows())
