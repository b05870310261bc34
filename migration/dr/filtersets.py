"""Filters for recovery plans, shared by the DR page and its CSV export: `?q=TEXT&ordering=KEY`."""

import django_filters

from hybridcloud.core.filtersets import SearchFilterSet, StableOrderingFilter
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


class RecoveryPlanFilterSet(SearchFilterSet):
    """`q` matches the plan's name or either site's name (case-insensitive); `ordering` is a key of PLAN_ORDERING."""

    search_fields = ("name", "protected_site__name", "recovery_site__name")
    q = django_filters.CharFilter(method="filter_search", label="Plan or site")
    ordering = StableOrderingFilter(fields={field: key for key, field in PLAN_ORDERING.items()})

    class Meta:
        model = RecoveryPlan
        fields = ["q"]
