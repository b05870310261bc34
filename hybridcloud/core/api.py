"""`/api/audit/`: the audit trail, read-only, with the page's filters; operators and administrators only."""

from django.db import DataError
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import permissions, serializers, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from hybridcloud.core.audit_views import can_read_audit
from hybridcloud.core.filtersets import AuditEntryFilterSet
from hybridcloud.core.models import AuditEntry
from hybridcloud.core.refusals import Refused


class CanReadAudit(permissions.BasePermission):
    message = "Only operators and administrators may read the audit trail."

    def has_permission(self, request, view) -> bool:
        return request.method in permissions.SAFE_METHODS and can_read_audit(request.user)


class AuditEntrySerializer(serializers.ModelSerializer):
    object_type = serializers.SerializerMethodField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)

    class Meta:
        model = AuditEntry
        fields = [
            "id", "at", "actor", "actor_label", "action", "object_type", "object_id", "object_repr", "before",
            "after", "source_ip", "user_agent", "via", "message",
        ]  # fmt: skip
        read_only_fields = fields

    def get_object_type(self, entry: AuditEntry) -> str | None:
        """`app_label.model`, e.g. "migration.migration"."""
        ct = entry.object_type
        return f"{ct.app_label}.{ct.model}" if ct else None


class AuditEntryViewSet(viewsets.ReadOnlyModelViewSet):
    """The audit trail, newest first. Filters: actor, action (exact or a prefix like "migration"), object_type
    (content type id), object_id, via, since/until (dates), search."""

    queryset = AuditEntry.objects.select_related("object_type")
    serializer_class = AuditEntrySerializer
    permission_classes = [CanReadAudit]
    filter_backends = [DjangoFilterBackend]
    filterset_class = AuditEntryFilterSet


def exception_handler(exc, context):
    """DRF's handler, plus: a domain refusal (hybridcloud.core.refusals.Refused) answers its status with its errors
    (and warnings), the one place API refusals are shaped; an id too large for the database (SQLite raises
    OverflowError, PostgreSQL a DataError "out of range") names no object, so it answers 404 rather than a server
    error."""
    if isinstance(exc, Refused):
        return Response(exc.body(), status=exc.status_code)
    if isinstance(exc, OverflowError) or (isinstance(exc, DataError) and "out of range" in str(exc)):
        exc = NotFound("No such object: the id is out of range.")
    return drf_exception_handler(exc, context)
