"""Filters for the capacity page's lists (recommendations, evacuations): `?q=TEXT&state=&ordering=KEY` under each
list's prefix (`recommendations-q`, `evacuations-ordering`, ...), for the page and its CSV exports."""

import django_filters

from hybridcloud.core.filtersets import SearchFilterSet, StableOrderingFilter
from migration.capacity.choices import EvacuationState
from migration.capacity.models import Evacuation, Recommendation


class RecommendationFilterSet(SearchFilterSet):
    """`q` matches the host's or site's name or the proposal's text (the page lists open ones)."""

    search_fields = ("host__name", "site__name", "summary")
    ordering = StableOrderingFilter(
        fields={"pk": "id", "site__name": "subject", "move_count": "moves", "brings_under": "brings_under",
                "created_at": "created"},
        tiebreak="-pk",
    )  # fmt: skip

    class Meta:
        model = Recommendation
        fields = ["q"]


class EvacuationFilterSet(SearchFilterSet):
    """`q` matches the evacuated host's or site's name, the destination site or who started it."""

    search_fields = ("host__name", "site__name", "destination_site__name", "created_by__username")
    state = django_filters.ChoiceFilter(choices=EvacuationState.choices, empty_label="Any state")
    ordering = StableOrderingFilter(
        fields={"pk": "id", "site__name": "subject", "destination_site__name": "destination",
                "created_at": "started", "created_by__username": "by", "state": "state"},
        tiebreak="-pk",
    )  # fmt: skip

    class Meta:
        model = Evacuation
        fields = ["q", "state"]
