"""Filters for the container lists (container hosts, orchestrated clusters, images, a host's container-VMs, a
cluster's pods): `?q=TEXT&ordering=KEY` and each list's own filters; the pages and their CSV exports use them."""

import django_filters

from containers.choices import ContainerState, PodPhase
from containers.models import ContainerCluster, ContainerHost, ContainerSpec, Image, Pod
from hybridcloud.core.filtersets import SearchFilterSet, StableOrderingFilter
from inventory.filtersets import TagFilter


class ContainerHostFilterSet(SearchFilterSet):
    search_fields = ("name", "cluster__name", "cluster__site__name", "endpoint", "segment__name")
    ordering = StableOrderingFilter(
        fields={"name": "name", "cluster__name": "cluster", "container_count": "containers", "cpus_used": "cpus",
                "memory_used": "memory"}
    )  # fmt: skip

    class Meta:
        model = ContainerHost
        fields = ["q"]


class ContainerClusterFilterSet(SearchFilterSet):
    search_fields = ("name", "site__name", "version")
    ordering = StableOrderingFilter(
        fields={"name": "name", "orchestrator": "orchestrator", "site__name": "site", "node_count": "nodes",
                "pod_count": "pods", "imported_at": "imported"}
    )  # fmt: skip

    class Meta:
        model = ContainerCluster
        fields = ["q"]


class ImageFilterSet(SearchFilterSet):
    search_fields = ("repository", "tag", "digest")
    ordering = StableOrderingFilter(
        fields={"repository": "repository", "tag": "tag", "size_bytes": "size", "container_count": "containers",
                "pulled_at": "pulled"},
        tiebreak="pk",
    )  # fmt: skip

    class Meta:
        model = Image
        fields = ["q"]


class ContainerSpecFilterSet(SearchFilterSet):
    """A container host's container-VMs: `?q=` (name, image, IP), `?state=`, `?tag=SLUG` (the container-VM's tags)."""

    search_fields = ("workload__name", "image__repository", "image__tag", "workload__ip_address")
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


class PodFilterSet(SearchFilterSet):
    """A cluster's pods: `?q=` (name, namespace, node, IP), `?namespace=`, `?phase=`."""

    search_fields = ("name", "namespace", "node__name", "pod_ip")
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
