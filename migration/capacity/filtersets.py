"""Filters for the capacity page's lists (recommendations, evacuations): `?q=TEXT&state=&ordering=KEY` under each
list's prefix (`recommendations-q`, `evacuations-ordering`, ...), for the page and its CSV exports."""

import django_filters
from django.db.models import Q, QuerySet

from hybridcloud.core.filtersets import StableOrderingFilter
from migration.capacity.choices import EvacuationState
from migration.capacity.models import Evacuation, Recommendation


class RecommendationFilterSet(django_filters.FilterSet):
    """`q` matches the host's or site's name or the proposal's text (the page lists open ones)."""

    q = django_filters.CharFilter(method="filter_search", label="Search")
    ordering = StableOrderingFilter(
        fields={"pk": "id", "site__name": "subject", "move_count": "moves", "brings_under": "brings_under",
                "created_at": "created"},
        tiebreak="-pk",
    )  # fmt: skip

    class Meta:
        model = Recommendation
        fields = ["q"]

    def filter_search(self, queryset: QuerySet[Recommendation], name: str, value: str) -> QuerySet[Recommendation]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(host__name__icontains=value) | Q(site__name__icontains=value) | Q(summary__icontains=value)
        )


class EvacuationFilterSet(django_filters.FilterSet):
    """`q` matches the evacuated host's or site's name, the destination site or who started it."""

    q = django_filters.CharFilter(method="filter_search", label="Search")
    state = django_filters.ChoiceFilter(choices=EvacuationState.choices, empty_label="Any state")
    ordering = StableOrderingFilter(
        fields={"pk": "id", "site__name": "subject", "destination_site__name": "destination",
                "created_at": "started", "created_by__username": "by", "state": "state"},
        tiebreak="-pk",
    )  # fmt: skip

    class Meta:
        model = Evacuation
        fields = ["q", "state"]

    def filter_search(self, queryset: QuerySet[Evacuation], name: str, value: str) -> QuerySet[Evacuation]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(host__name__icontains=value)
            | Q(site__name__icontains=value)
            | Q(destination_site__name__icontains=value)
            | Q(created_by__username__icontains=value)
        )
