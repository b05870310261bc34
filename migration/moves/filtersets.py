"""Filters for the move groups page's list of ended groups: `?ended-q=TEXT&ended-state=&ended-ordering=KEY`."""

import django_filters
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce

from hybridcloud.core.filtersets import StableOrderingFilter
from migration.moves.choices import MoveGroupState
from migration.moves.models import MoveGroup

ENDED_STATES = [s for s in MoveGroupState if s not in (MoveGroupState.SCHEDULED, MoveGroupState.RUNNING)]


class EndedMoveGroupFilterSet(django_filters.FilterSet):
    """`q` matches the group's name, a member workload's name or the destination; without `ordering`, the most
    recently ended first."""

    q = django_filters.CharFilter(method="filter_search", label="Search")
    state = django_filters.ChoiceFilter(choices=[(s.value, s.label) for s in ENDED_STATES], empty_label="Any state")
    ordering = StableOrderingFilter(
        fields={"name": "name", "member_count": "workloads", "state": "state", "ended_at": "ended"}, tiebreak="-pk"
    )

    class Meta:
        model = MoveGroup
        fields = ["q", "state"]

    def filter_search(self, queryset: QuerySet[MoveGroup], name: str, value: str) -> QuerySet[MoveGroup]:
        value = value.strip()
        if not value:
            return queryset
        members = MoveGroup.objects.filter(members__workload__name__icontains=value).values("pk")
        return queryset.filter(
            Q(name__icontains=value)
            | Q(pk__in=members)
            | Q(destination_host__name__icontains=value)
            | Q(destination_site__name__icontains=value)
        )


def ended_groups(queryset: QuerySet[MoveGroup]) -> QuerySet[MoveGroup]:
    """The ended groups of `queryset`, most recently ended first (`ended_at`: when it finished, else its start)."""
    return (
        queryset.filter(state__in=ENDED_STATES)
        .annotate(ended_at=Coalesce("finished_at", "start_at"))
        .order_by("-ended_at", "-pk")
    )
