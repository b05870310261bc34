"""The audit page (`/audit/`) and its CSV export: operators and administrators only.

Viewers get 403: the trail holds source addresses and user agents, and who did what is a matter for the
people who act on the cloud, not for read-only users.
"""

import csv
import json

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from hybridcloud.core.filtersets import AuditEntryFilterSet
from hybridcloud.core.models import KNOWN_ACTIONS, AuditEntry
from hybridcloud.core.roles import is_operator

PAGE_SIZE = 50
CSV_HEADER = [
    "at", "actor", "action", "object_type", "object_id", "object", "via", "source_ip", "user_agent", "message",
    "before", "after",
]  # fmt: skip


def can_read_audit(user) -> bool:
    return is_operator(user) or bool(user.is_authenticated and user.is_active and user.is_staff)


def _filtered(request):
    if not can_read_audit(request.user):
        raise PermissionDenied("Only operators and administrators may read the audit trail.")
    queryset = AuditEntry.objects.select_related("object_type")
    return AuditEntryFilterSet(request.GET or None, queryset=queryset)


def audit_list(request):
    filterset = _filtered(request)
    entries = filterset.qs if filterset.is_bound and filterset.is_valid() else filterset.queryset
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "hybridcloud/audit_list.html",
        {
            "filter": filterset,
            "page": page,
            "query": query.urlencode(),
            "entries": page.object_list,
            "known_actions": KNOWN_ACTIONS,
        },
    )


class _Echo:
    def write(self, value):
        return value


def audit_export(request):
    """The filtered trail as CSV, streamed (constant memory whatever its length)."""
    filterset = _filtered(request)
    entries = filterset.qs if filterset.is_bound and filterset.is_valid() else filterset.queryset
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(CSV_HEADER)
        for e in entries.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    e.at.isoformat(), e.actor_label, e.action,
                    f"{e.object_type.app_label}.{e.object_type.model}" if e.object_type else "",
                    e.object_id, e.object_repr, e.via, e.source_ip or "", e.user_agent, e.message,
                    json.dumps(e.before, sort_keys=True) if e.before is not None else "",
                    json.dumps(e.after, sort_keys=True) if e.after is not None else "",
                ]
            )  # fmt: skip

    response = StreamingHttpResponse(rows(), content_type="text/csv")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response
