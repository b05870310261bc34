"""Importing an orchestrated cluster: `kubectl get nodes,pods -o json` into nodes (each a VM) and pods.

The document is validated in full first (`containers.kubernetes`); the import is one transaction, so a refused
document changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from containers.kubernetes import KubectlList, KubernetesDocumentError, NodeRecord, PodRecord, parse_kubectl_list
from containers.models import ContainerCluster, Node, Pod
from containers.services.refusals import ContainerRefused, validation_messages
from inventory.addresses import NoFreeAddress, allocate_ip
from inventory.choices import PowerState, WorkloadKind
from inventory.models import Host, NetworkSegment, Workload
from migration.placement import Demand, place_new_workload
from migration.prechecks import PrecheckContext

NODE_DISK_WRITE_BPS = 5_000_000  # a Kubernetes node VM's disk writes (images, logs, emptyDir volumes)
POD_FIELDS = ("uid", "labels", "node", "phase", "pod_ip", "restart_count", "containers", "started_at")


@dataclass
class ImportReport:
    """What an import changed. Node placements say where new node VMs went."""

    created_nodes: list[str] = field(default_factory=list)
    matched_nodes: list[str] = field(default_factory=list)
    removed_nodes: list[str] = field(default_factory=list)
    created_pods: list[str] = field(default_factory=list)
    updated_pods: list[str] = field(default_factory=list)
    unchanged_pods: list[str] = field(default_factory=list)
    removed_pods: list[str] = field(default_factory=list)
    placements: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        text = (
            f"Nodes: {len(self.created_nodes)} created, {len(self.matched_nodes)} matched to existing VMs, "
            f"{len(self.removed_nodes)} removed. Pods: {len(self.created_pods)} created, {len(self.updated_pods)} "
            f"updated, {len(self.unchanged_pods)} unchanged, {len(self.removed_pods)} removed."
        )
        if self.placements:
            text += " New node VMs: " + "; ".join(f"{n} on {where}" for n, where in self.placements.items()) + "."
        return text


def cluster_import_kubernetes(*, cluster: ContainerCluster, document: str | bytes | dict, user=None) -> ImportReport:
    """Imports `kubectl get nodes,pods -o json`: nodes matched to the VMs of the cluster's site by name (or kept on
    the VM an earlier import gave them) or created as VMs there; pods created, updated, and removed when the
    document no longer has them. A refused document changes nothing."""
    try:
        parsed = parse_kubectl_list(document)
    except KubernetesDocumentError as exc:
        raise ContainerRefused(str(exc), code="bad_document") from None
    report = ImportReport()
    with transaction.atomic():
        existing_nodes = {node.name: node for node in cluster.nodes.select_related("workload")}
        nodes = {record.name: _import_node(cluster, record, existing_nodes, report) for record in parsed.nodes}
        existing_pods = {(p.namespace, p.name): p for p in cluster.pods.all()}
        for record in parsed.pods:
            _import_pod(cluster, record, existing_pods.pop((record.namespace, record.name), None), nodes, report)
        _remove_missing(existing_pods.values(), existing_nodes.values(), report)
        _stamp(cluster, parsed)
    return report


def _import_node(cluster: ContainerCluster, record: NodeRecord, existing: dict[str, Node], report) -> Node:
    """The node of the record, with its VM, created or updated (`existing` loses the nodes the document has)."""
    node = existing.pop(record.name, None)
    vm = _node_vm(cluster, record, node, report)
    node = node or Node(cluster=cluster, name=record.name)
    node.workload = vm
    node.roles = record.roles
    node.kubelet_version = record.kubelet_version
    node.os_image = record.os_image
    node.internal_ip = record.internal_ip
    node.ready = record.ready
    try:
        node.full_clean()
    except ValidationError as exc:
        raise ContainerRefused(
            f"items[{record.index}] (Node {record.name}): {validation_messages(exc)}", code="bad_document"
        ) from None
    node.save()
    return node


def _node_vm(cluster: ContainerCluster, record: NodeRecord, node: Node | None, report: ImportReport) -> Workload:
    """The VM behind a node: the one an earlier import gave it (wherever it has moved since), else the VM of that
    name on the cluster's site, else a new VM placed there. A workload of that name elsewhere (another site, or not
    a VM) is not this node's VM: the node is refused, naming it, rather than bound to it."""
    if node is not None and node.workload_id is not None:
        report.matched_nodes.append(record.name)
        return node.workload
    namesake = Workload.objects.select_related("host__cluster__site").filter(name=record.name).first()
    if namesake is None:
        return _create_node_vm(cluster, record, report)
    if namesake.kind != WorkloadKind.VM or namesake.host.cluster.site_id != cluster.site_id:
        raise ContainerRefused(
            f"items[{record.index}]: node {record.name} has no VM on {cluster.site.name}: the workload named "
            f"{record.name} is a {namesake.get_kind_display()} on host {namesake.host.name} "
            f"({namesake.host.cluster.site.name}), outside cluster {cluster.name}'s site, so it is not this node's VM. "
            "Rename the node or that workload.",
            code="conflict",
        )
    report.matched_nodes.append(record.name)
    return namesake


def _create_node_vm(cluster: ContainerCluster, record: NodeRecord, report: ImportReport) -> Workload:
    """A new VM for the node, placed on the cluster's site, addressed on the cluster's segment (its reported
    InternalIP when that is free)."""
    segment = cluster.segment or NetworkSegment.objects.filter(sites=cluster.site).order_by("name").first()
    if segment is None:
        raise ContainerRefused(
            f"items[{record.index}]: node {record.name} needs a VM, but no network segment is present on "
            f"{cluster.site}.",
            code="no_capacity",
        )
    demand = Demand(record.cpus, record.memory_bytes, record.disk_bytes, f"node VM {record.name} on {cluster.site}")
    placement = place_new_workload(
        hosts=Host.objects.filter(cluster__site=cluster.site), demand=demand, refusals=PrecheckContext().host_refusals
    )
    if placement.host is None:
        raise ContainerRefused(f"items[{record.index}]: {placement.reason}", code="no_capacity")
    try:
        address = allocate_ip(segment, preferred=record.internal_ip)
    except NoFreeAddress as exc:
        raise ContainerRefused(f"items[{record.index}]: {exc}", code="no_address") from None
    workload = Workload(
        name=record.name,
        kind=WorkloadKind.VM,
        vcpus=record.cpus,
        memory_bytes=record.memory_bytes,
        disk_bytes=record.disk_bytes,
        power_state=PowerState.ON,
        host=placement.host,
        datastore=placement.datastore,
        segment=segment,
        ip_address=address,
        guest_os=record.os_image or "Linux (Kubernetes node)",
        dirty_rate_bps=min(record.memory_bytes // 50, 200_000_000),
        working_set_bytes=record.memory_bytes // 4,
        disk_write_rate_bps=NODE_DISK_WRITE_BPS,
    )
    try:
        workload.full_clean()
    except ValidationError as exc:
        raise ContainerRefused(
            f"items[{record.index}]: cannot create the VM for node {record.name}: {validation_messages(exc)}",
            code="conflict",
        ) from None
    workload.save()
    report.created_nodes.append(record.name)
    where = f"host {placement.host.name} ({cluster.site.name}), {workload.ip_address} on {segment.name}"
    report.placements[record.name] = where
    return workload


def _import_pod(
    cluster: ContainerCluster, record: PodRecord, pod: Pod | None, nodes: dict[str, Node], report: ImportReport
) -> None:
    """Creates the record's pod, or updates `pod` when the document changed it."""
    key = f"{record.namespace}/{record.name}"
    values = {name: getattr(record, name) for name in POD_FIELDS if name != "node"}
    values["node"] = nodes.get(record.node_name) if record.node_name else None
    if pod is None:
        pod = Pod(cluster=cluster, namespace=record.namespace, name=record.name, **values)
        report.created_pods.append(key)
    elif any(getattr(pod, name) != value for name, value in values.items()):
        for name, value in values.items():
            setattr(pod, name, value)
        report.updated_pods.append(key)
    else:
        report.unchanged_pods.append(key)
        return
    try:
        pod.full_clean()
    except ValidationError as exc:
        raise ContainerRefused(
            f"items[{record.index}] (Pod {key}): {validation_messages(exc)}", code="bad_document"
        ) from None
    pod.save()


def _remove_missing(pods, nodes, report: ImportReport) -> None:
    """Deletes the pods and nodes the document no longer has (a node's VM stays: it is the inventory's)."""
    for pod in pods:
        report.removed_pods.append(str(pod))
        pod.delete()
    for node in nodes:
        report.removed_nodes.append(node.name)
        node.delete()


def _stamp(cluster: ContainerCluster, parsed: KubectlList) -> None:
    """The cluster's import time, and its version: the newest kubelet of its nodes."""
    versions = sorted({r.kubelet_version for r in parsed.nodes if r.kubelet_version})
    ContainerCluster.objects.filter(pk=cluster.pk).update(
        imported_at=timezone.now(), version=versions[-1] if versions else cluster.version
    )
    cluster.refresh_from_db()
