"""Filters for workloads, shared by the workloads page and `GET /api/workloads/`."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from hybridcloud.core.filtersets import SearchFilterSet, StableOrderingFilter
from inventory.choices import EstateImportStatus, PowerState, WorkloadKind
from inventory.models import CloudLink, Estate, EstateImport, Host, NetworkSegment, PlacementRule, Site, Tag, Workload

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


@extend_schema_field(OpenApiTypes.STR)  # a tag's slug, repeatable
class TagFilter(django_filters.ModelMultipleChoiceFilter):
    """`?tag=SLUG` (repeat for more): what carries every tag given (NetBox's rule); an unknown slug is a 400 naming
    it."""

    def __init__(self, **kwargs):
        kwargs.setdefault("field_name", "tags__slug")
        kwargs.setdefault("to_field_name", "slug")
        kwargs.setdefault("queryset", Tag.objects.all())
        kwargs.setdefault("conjoined", True)
        kwargs.setdefault("label", "Tag")
        super().__init__(**kwargs)


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
    tag = TagFilter()
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


class HostFilterSet(django_filters.FilterSet):
    """?cluster=ID&cluster__site=ID&state=connected&tag=SLUG"""

    tag = TagFilter()

    class Meta:
        model = Host
        fields = {"cluster": ["exact"], "cluster__site": ["exact"], "state": ["exact"]}


class PlacementRuleFilterSet(django_filters.FilterSet):
    """?kind=keep_apart&scope=host&enabled=true&tag=SLUG (its workload tag or host group)"""

    tag = django_filters.CharFilter(method="filter_tag", label="Tag")

    class Meta:
        model = PlacementRule
        fields = ["kind", "scope", "enabled"]

    def filter_tag(self, queryset: QuerySet[PlacementRule], name: str, value: str) -> QuerySet[PlacementRule]:
        return queryset.filter(Q(workload_tag__slug=value) | Q(host_tag__slug=value))


class EstateImportFilterSet(SearchFilterSet):
    """The imports page's history: `?imports-q=TEXT&imports-status=&imports-ordering=KEY` (newest first)."""

    search_fields = ("file_name", "estate__name", "requested_by__username", "message")
    status = django_filters.ChoiceFilter(choices=EstateImportStatus.choices, empty_label="Any status")
    ordering = StableOrderingFilter(
        fields={"created_at": "when", "file_name": "file", "estate__name": "estate", "status": "status"},
        tiebreak="-pk",
    )

    class Meta:
        model = EstateImport
        fields = ["q", "status"]


class CloudLinkFilterSet(SearchFilterSet):
    """The sites page's links: `?links-q=SITE&links-ordering=KEY` (by site names unless told)."""

    search_fields = ("site_a__name", "site_b__name")
    ordering = StableOrderingFilter(
        fields={"site_a__name": "between", "rtt_ms": "rtt", "bandwidth_mbit": "bandwidth", "loss_percent": "loss",
                "compression_ratio": "wan"},
        tiebreak="pk",
    )  # fmt: skip

    class Meta:
        model = CloudLink
        fields = ["q"]


class NetworkSegmentFilterSet(SearchFilterSet):
    """The sites page's segments: `?segments-q=TEXT&segments-ordering=KEY` (name or CIDR; by name unless told)."""

    search_fields = ("name", "cidr")
    ordering = StableOrderingFilter(
        fields={"name": "segment", "cidr": "cidr", "workload_count": "workloads"}, tiebreak="name"
    )

    class Meta:
        model = NetworkSegment
        fields = ["q"]
