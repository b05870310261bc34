"""Reads for the container pages and API: each list in a constant number of queries."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, DecimalField, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from containers.models import ContainerCluster, ContainerEvent, ContainerHost, ContainerSpec, Image, Node, Pod
from inventory.choices import PowerState


def container_host_list() -> QuerySet[ContainerHost]:
    """Container hosts with their container-VM count, running count, and CPUs and memory used by running ones."""
    running = Q(containers__workload__power_state=PowerState.ON)
    return (
        ContainerHost.objects.select_related("cluster__site", "segment")
        .annotate(
            container_count=Count("containers", distinct=True),
            running_count=Count("containers", filter=running, distinct=True),
            cpus_used=Coalesce(Sum("containers__cpus", filter=running), Value(Decimal(0)), output_field=DecimalField()),
            memory_used=Coalesce(
                Sum("containers__workload__memory_bytes", filter=running), Value(0), output_field=IntegerField()
            ),
        )
        .order_by("name")
    )


def cluster_list() -> QuerySet[ContainerCluster]:
    nodes = Node.objects.filter(cluster=OuterRef("pk")).values("cluster").annotate(n=Count("pk")).values("n")
    ready = (
        Node.objects.filter(cluster=OuterRef("pk"), ready=True).values("cluster").annotate(n=Count("pk")).values("n")
    )
    return (
        ContainerCluster.objects.select_related("site")
        .annotate(
            node_count=Coalesce(Subquery(nodes, output_field=IntegerField()), 0),
            ready_count=Coalesce(Subquery(ready, output_field=IntegerField()), 0),
            pod_count=Count("pods", distinct=True),
            running_pods=Count("pods", filter=Q(pods__phase="Running"), distinct=True),
        )
        .order_by("name")
    )


def containers_of_host(container_host: ContainerHost) -> QuerySet[ContainerSpec]:
    return (
        ContainerSpec.objects.filter(container_host=container_host)
        .select_related("workload__host__cluster__site", "workload__segment", "image")
        .prefetch_related("published_ports")
        .order_by("workload__name")
    )


def container_detail(workload_pk: int) -> ContainerSpec:
    return (
        ContainerSpec.objects.select_related(
            "workload__host__cluster__site", "workload__segment", "workload__datastore", "image", "container_host"
        )
        .prefetch_related("published_ports")
        .get(workload_id=workload_pk)
    )


def container_events(workload_pk: int, limit: int = 50) -> list[ContainerEvent]:
    return list(ContainerEvent.objects.filter(workload_id=workload_pk).select_related("user")[:limit])


def cluster_pods(cluster: ContainerCluster) -> QuerySet[Pod]:
    """A cluster's pods, by namespace then name, with their node."""
    return cluster.pods.select_related("node").order_by("namespace", "name")


def image_list() -> QuerySet[Image]:
    """Pulled images with how many container-VMs run each."""
    return Image.objects.annotate(container_count=Count("containers")).order_by("repository", "tag")


def cluster_nodes(cluster: ContainerCluster) -> QuerySet[Node]:
    return (
        cluster.nodes.select_related("workload__host__cluster__site").annotate(pod_count=Count("pods")).order_by("name")
    )
