"""Filters for recovery plans, shared by the DR page and its CSV export: `?q=TEXT&ordering=KEY`."""

import django_filters
from django.db.models import Q, QuerySet

from hybridcloud.core.filtersets import StableOrderingFilter
from migration.dr.models import RecoveryPlan

# Public sort keys (in the URL) → fields of `selectors.plan_list()` (annotations included).
PLAN_ORDERING = {
    "name": "name",
    "protected": "protected_site__name",
    "recovery": "recovery_site__name",
    "groups": "group_count",
    "workloads": "workload_count",
    "rto": "target_rto_s",
    "last_drill": "last_finished_at",
}


class RecoveryPlanFilterSet(django_filters.FilterSet):
    """`q` matches the plan's name or either site's name (case-insensitive); `ordering` is a key of PLAN_ORDERING."""

    q = django_filters.CharFilter(method="filter_search", label="Plan or site")
    ordering = StableOrderingFilter(fields={field: key for key, field in PLAN_ORDERING.items()})

    class Meta:
        model = RecoveryPlan
        fields = ["q"]

    def filter_search(self, queryset: QuerySet[RecoveryPlan], name: str, value: str) -> QuerySet[RecoveryPlan]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value)
            | Q(protected_site__name__icontains=value)
            | Q(recovery_site__name__icontains=value)
        )
