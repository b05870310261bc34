"""Pods: plain containers of an orchestrated cluster. They do not move live; moving one reschedules it."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from containers.choices import EventAction
from containers.models import Node, Pod
from containers.services.events import record_event
from containers.services.refusals import ContainerRefused

POD_CANNOT_MOVE_LIVE = (
    "Pods are plain containers: they cannot move live. Moving one reschedules it: its containers stop on this node "
    "and start again on another one (a cold move, with a restart)."
)


def pod_reschedule(*, pod: Pod, node: Node, user=None) -> Pod:
    """Moves a pod the only way a plain container moves: a cold move. Its containers stop on the current node and
    start on `node` (restart count + 1); it is not a live migration."""
    if node.cluster_id != pod.cluster_id:
        raise ContainerRefused(f"Node {node.name} is not in cluster {pod.cluster.name}.", code="bad_value")
    if node.pk == pod.node_id:
        raise ContainerRefused(f"Pod {pod} already runs on node {node.name}.", code="bad_value")
    if not node.ready:
        raise ContainerRefused(f"Node {node.name} is not Ready: pods cannot be scheduled on it.", code="conflict")
    with transaction.atomic():
        previous = pod.node.name if pod.node_id else "no node"
        Pod.objects.filter(pk=pod.pk).update(
            node=node, phase="Running", started_at=timezone.now(), restart_count=pod.restart_count + 1
        )
        pod.refresh_from_db()
        record_event(
            EventAction.RESCHEDULE,
            pod=pod,
            user=user,
            message=f"Stopped on {previous}, started on {node.name} (cold move: its containers restarted)",
        )
    return pod
