"""Filters for the container lists (container hosts, orchestrated clusters, images, a host's container-VMs, a
cluster's pods): `?q=TEXT&ordering=KEY` and each list's own filters; the pages and their CSV exports use them."""

import django_filters
from django.db.models import Q, QuerySet

from containers.choices import ContainerState, PodPhase
from containers.models import ContainerCluster, ContainerHost, ContainerSpec, Image, Pod
from hybridcloud.core.filtersets import StableOrderingFilter
from inventory.filtersets import TagFilter


def _search(queryset: QuerySet, value: str, *fields: str) -> QuerySet:
    """Rows where any of `fields` contains the text (case-insensitive); blank text filters nothing."""
    value = value.strip()
    if not value:
        return queryset
    query = Q()
    for field in fields:
        query |= Q(**{f"{field}__icontains": value})
    return queryset.filter(query)


class ContainerHostFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label="Search")
    ordering = StableOrderingFilter(
        fields={"name": "name", "cluster__name": "cluster", "container_count": "containers", "cpus_used": "cpus",
                "memory_used": "memory"}
    )  # fmt: skip

    class Meta:
        model = ContainerHost
        fields = ["q"]

    def filter_search(self, queryset, name, value):
        return _search(queryset, value, "name", "cluster__name", "cluster__site__name", "endpoint", "segment__name")


class ContainerClusterFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label="Search")
    ordering = StableOrderingFilter(
        fields={"name": "name", "orchestrator": "orchestrator", "site__name": "site", "node_count": "nodes",
                "pod_count": "pods", "imported_at": "imported"}
    )  # fmt: skip

    class Meta:
        model = ContainerCluster
        fields = ["q"]

    def filter_search(self, queryset, name, value):
        return _search(queryset, value, "name", "site__name", "version")


class ImageFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_search", label="Search")
    ordering = StableOrderingFilter(
        fields={"repository": "repository", "tag": "tag", "size_bytes": "size", "container_count": "containers",
                "pulled_at": "pulled"},
        tiebreak="pk",
    )  # fmt: skip

    class Meta:
        model = Image
        fields = ["q"]

    def filter_search(self, queryset, name, value):
        return _search(queryset, value, "repository", "tag", "digest")


class ContainerSpecFilterSet(django_filters.FilterSet):
    """A container host's container-VMs: `?q=` (name, image, IP), `?state=`, `?tag=SLUG` (the container-VM's tags)."""

    q = django_filters.CharFilter(method="filter_search", label="Search")
    state = django_filters.ChoiceFilter(choices=ContainerState.choices, empty_label="Any state")
    tag = TagFilter(field_name="workload__tags__slug")
    ordering = StableOrderingFilter(
        fields={"workload__name": "name", "state": "state", "image__repository": "image", "workload__ip_address": "ip",
                "workload__host__name": "host", "cpus": "cpus", "workload__memory_bytes": "memory"},
        tiebreak="workload__name",
    )  # fmt: skip

    class Meta:
        model = ContainerSpec
        fields = ["q", "state", "tag"]

    def filter_search(self, queryset, name, value):
        return _search(queryset, value, "workload__name", "image__repository", "image__tag", "workload__ip_address")


class PodFilterSet(django_filters.FilterSet):
    """A cluster's pods: `?q=` (name, namespace, node, IP), `?namespace=`, `?phase=`."""

    q = django_filters.CharFilter(method="filter_search", label="Search")
    namespace = django_filters.ChoiceFilter(choices=[], empty_label="Any namespace")
    phase = django_filters.ChoiceFilter(choices=PodPhase.choices, empty_label="Any phase")
    ordering = StableOrderingFilter(
        fields={"name": "name", "namespace": "namespace", "phase": "phase", "node__name": "node", "pod_ip": "ip",
                "restart_count": "restarts"},
        tiebreak="pk",
    )  # fmt: skip

    class Meta:
        model = Pod
        fields = ["q", "namespace", "phase"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        namespaces = self.queryset.order_by("namespace").values_list("namespace", flat=True).distinct()
        self.filters["namespace"].extra["choices"] = [(n, n) for n in namespaces]

    def filter_search(self, queryset, name, value):
        return _search(queryset, value, "name", "namespace", "node__name", "pod_ip")
