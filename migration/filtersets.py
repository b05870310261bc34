"""Filters for migrations, shared by the migrations page, its CSV export and `GET /api/migrations/`.

`?state=&site=ID&kind=&search=TEXT&tag=SLUG&ordering=KEY` (`q` is `search`): `site` matches the source or the
destination site; `search` matches the workload's name, either host's name or the requester's username; `tag`, the
workload's tags (each given); without `ordering` the list keeps its rule (active migrations first, then newest first).
"""

import django_filters
from django.db.models import Q, QuerySet

from hybridcloud.core.filtersets import SearchFilterSet, StableOrderingFilter
from inventory.filtersets import PlacementRuleFilterSet, TagFilter
from inventory.models import Site
from migration.choices import MigrationKind, MigrationState
from migration.models import Migration

# Public sort keys (in the URL) → fields. The page's headers, the export and the API use the same keys.
MIGRATION_ORDERING = {
    "id": "pk",
    "workload": "workload__name",
    "kind": "kind",
    "source": "source_host__name",
    "destination": "destination_host__name",
    "state": "state",
    "rounds": "rounds_count",
    "downtime": "downtime_s",
    "requested": "created_at",
}


class MigrationFilterSet(SearchFilterSet):
    search_fields = ("workload__name", "source_host__name", "destination_host__name", "requested_by__username")
    state = django_filters.ChoiceFilter(choices=MigrationState.choices, empty_label="Any state")
    site = django_filters.ModelChoiceFilter(
        queryset=Site.objects.only("id", "name").order_by("name"), method="filter_site",
        label="Site (source or destination)", empty_label="Any site",
    )  # fmt: skip
    kind = django_filters.ChoiceFilter(choices=MigrationKind.choices, empty_label="Any kind")
    tag = TagFilter(field_name="workload__tags__slug")
    search = django_filters.CharFilter(method="filter_search", label="Search (workload, host or requester)")
    ordering = StableOrderingFilter(fields={field: key for key, field in MIGRATION_ORDERING.items()}, tiebreak="-pk")

    class Meta:
        model = Migration
        fields = ["state", "site", "kind", "tag", "q"]

    def filter_site(self, queryset: QuerySet[Migration], name: str, value: Site) -> QuerySet[Migration]:
        return queryset.filter(Q(source_host__cluster__site=value) | Q(destination_host__cluster__site=value))


class PlacementRulePageFilterSet(SearchFilterSet, PlacementRuleFilterSet):
    """The placement rules page: the API's filters (`?kind=&scope=&enabled=&tag=SLUG`), a search by name or
    description (`q`), and `ordering` by rule or kind (by name unless told)."""

    search_fields = ("name", "description")
    ordering = StableOrderingFilter(fields={"name": "rule", "kind": "kind", "enabled": "enabled"})

    class Meta(PlacementRuleFilterSet.Meta):
        fields = ["q", "kind", "scope", "enabled"]
