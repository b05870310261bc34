"""Filters for workloads, shared by the workloads page and `GET /api/workloads/`."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from inventory.choices import PowerState, WorkloadKind
from inventory.models import Estate, Host, NetworkSegment, Site, Workload

# Public sort keys (in the URL) → model fields. The page's column headers and the API use the same keys.
WORKLOAD_ORDERING = {
    "name": "name",
    "kind": "kind",
    "site": "host__cluster__site__name",
    "host": "host__name",
    "ip": "ip_address",
    "segment": "segment__name",
    "vcpus": "vcpus",
    "memory": "memory_bytes",
    "power": "power_state",
}


class StableOrderingFilter(django_filters.OrderingFilter):
    """Sorts by the chosen column, then by name, so that pages never shuffle rows between them."""

    def filter(self, qs: QuerySet, value):
        qs = super().filter(qs, value)
        ordering = list(qs.query.order_by)
        if ordering and not any(field.lstrip("-") == "name" for field in ordering):
            qs = qs.order_by(*ordering, "name")
        return qs


class WorkloadFilterSet(django_filters.FilterSet):
    """?kind=vm|container_vm&site=ID&host=ID&power_state=on&segment=ID&estate=ID&search=TEXT (or q=TEXT)
    &ordering=-memory"""

    kind = django_filters.ChoiceFilter(choices=WorkloadKind.choices, empty_label="Any kind")
    site = django_filters.ModelChoiceFilter(
        field_name="host__cluster__site", queryset=Site.objects.only("id", "name"), empty_label="Any site"
    )
    host = django_filters.ModelChoiceFilter(queryset=Host.objects.only("id", "name"), empty_label="Any host")
    power_state = django_filters.ChoiceFilter(choices=PowerState.choices, empty_label="Any state")
    segment = django_filters.ModelChoiceFilter(
        queryset=NetworkSegment.objects.only("id", "name", "cidr"), empty_label="Any segment"
    )
    estate = django_filters.ModelChoiceFilter(queryset=Estate.objects.only("id", "name"), empty_label="Any estate")
    search = django_filters.CharFilter(method="filter_search", label="Name or IP")
    q = django_filters.CharFilter(method="filter_search", label="Name or IP")
    ordering = StableOrderingFilter(fields={field: key for key, field in WORKLOAD_ORDERING.items()})

    class Meta:
        model = Workload
        fields = ["kind", "site", "host", "power_state", "segment", "estate"]

    def filter_search(self, queryset: QuerySet[Workload], name: str, value: str) -> QuerySet[Workload]:
        """A name containing the text, or an IP address starting with it (so "10.10.4." finds a subnet)."""
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(ip_address__startswith=value))
