"""The audit trail's filters, shared by the audit page and `/api/audit/`."""

import django_filters
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q

from hybridcloud.core.models import AuditEntry, AuditVia


def audited_types(request=None):
    """Only the content types that appear in the trail (one small query)."""
    ids = AuditEntry.objects.exclude(object_type=None).values("object_type").distinct()
    return ContentType.objects.filter(pk__in=ids).order_by("app_label", "model")


class AuditEntryFilterSet(django_filters.FilterSet):
    actor = django_filters.CharFilter(field_name="actor_label", lookup_expr="iexact", label="Actor (username)")
    action = django_filters.CharFilter(method="filter_action", label='Action (e.g. "migration.start" or "migration")')
    object_type = django_filters.ModelChoiceFilter(queryset=audited_types, label="Object type")
    object_id = django_filters.CharFilter(field_name="object_id", label="Object id")
    via = django_filters.ChoiceFilter(choices=AuditVia.choices)
    since = django_filters.DateFilter(field_name="at", lookup_expr="date__gte", label="From (date)")
    until = django_filters.DateFilter(field_name="at", lookup_expr="date__lte", label="To (date)")
    search = django_filters.CharFilter(method="filter_search", label="Search")

    class Meta:
        model = AuditEntry
        fields = ["actor", "action", "object_type", "object_id", "via", "since", "until", "search"]

    def filter_action(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        if "." in value:
            return queryset.filter(action=value)
        return queryset.filter(action__startswith=value + ".")

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(object_repr__icontains=value)
            | Q(message__icontains=value)
            | Q(actor_label__icontains=value)
            | Q(action__icontains=value)
            | Q(source_ip__icontains=value)
        )
