"""Reading what `kubectl get nodes,pods -o json` prints: a v1 List of Node and Pod items.

Pure parsing, no database: `parse_kubectl_list` validates the whole document strictly and returns plain records,
or raises `KubernetesDocumentError` naming the first bad item by its index. The import service applies the records.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from datetime import datetime

from containers.choices import PodPhase
from hybridcloud.core.units import GIB, KIB, MIB, TIB

QUANTITY_FACTORS = {
    "": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
    "Ki": KIB, "Mi": MIB, "Gi": GIB, "Ti": TIB,
}  # fmt: skip


class KubernetesDocumentError(ValueError):
    """The document is not a complete, well-formed `kubectl get nodes,pods -o json` List."""


@dataclass(frozen=True)
class NodeRecord:
    index: int
    name: str
    uid: str
    roles: list[str]
    kubelet_version: str
    os_image: str
    internal_ip: str | None
    ready: bool
    cpus: int
    memory_bytes: int
    disk_bytes: int


@dataclass(frozen=True)
class PodRecord:
    index: int
    namespace: str
    name: str
    uid: str
    labels: dict[str, str]
    node_name: str | None
    phase: str
    pod_ip: str | None
    restart_count: int
    containers: list[dict]
    started_at: datetime | None


@dataclass
class KubectlList:
    nodes: list[NodeRecord] = field(default_factory=list)
    pods: list[PodRecord] = field(default_factory=list)


#: Larger than any machine: a quantity above it is a typo or an attack, not a node (and would overflow the database).
MAX_QUANTITY = 2**60


def parse_quantity(value: str | int | float, *, what: str) -> float:
    """Kubernetes resource quantities: '4', '3500m', '16370884Ki', '8Gi', '1e3'; non-negative and finite."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise KubernetesDocumentError(f"{what}: {json.dumps(value)[:60]} is not a Kubernetes quantity (a string).")
    text = str(value).strip()
    match = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?(?:[eE][0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?", text)
    if not match:
        raise KubernetesDocumentError(f"{what}: '{value}' is not a Kubernetes quantity.")
    number, suffix = float(match[1]), match[2] or ""
    quantity = number / 1000 if suffix == "m" else number * QUANTITY_FACTORS[suffix]
    if not quantity < MAX_QUANTITY:
        raise KubernetesDocumentError(f"{what}: '{value}' is too large to be real.")
    return quantity


def _load(document: str | bytes | dict) -> dict:
    if isinstance(document, dict):
        return document
    if isinstance(document, bytes):
        try:
            document = document.decode("utf-8")
        except UnicodeDecodeError:
            raise KubernetesDocumentError("Not JSON: the file is not UTF-8 text.") from None
    try:
        data = json.loads(document)
    except json.JSONDecodeError as exc:
        raise KubernetesDocumentError(f"Not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.") from None
    if not isinstance(data, dict):
        raise KubernetesDocumentError(
            "Not a Kubernetes List: expected a JSON object, as `kubectl get nodes,pods -o json` prints."
        )
    return data


def _ready(status: dict, where: str) -> bool:
    conditions = _list(status.get("conditions"), f"{where}: status.conditions")
    return any(
        _dict(c, f"{where}: status.conditions[{i}]").get("type") == "Ready" and c.get("status") == "True"
        for i, c in enumerate(conditions)
    )


RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def _timestamp(value, where: str) -> datetime | None:
    """An RFC 3339 time with its zone ('2024-09-02T08:15:00Z'), as the API server writes them; a time without a zone
    is refused rather than guessed."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not RFC3339.fullmatch(value):
        raise KubernetesDocumentError(f"{where}: {json.dumps(value)[:60]} is not an RFC 3339 timestamp.")
    try:
        return datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        raise KubernetesDocumentError(f"{where}: '{value}' is not an RFC 3339 timestamp.") from None


def _dict(value, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise KubernetesDocumentError(f"{where} is not an object.")
    return value


def _list(value, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise KubernetesDocumentError(f"{where} is not an array.")
    return value


def _str(value, where: str) -> str | None:
    """A string field, or None when absent; any other JSON type is refused."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise KubernetesDocumentError(f"{where}: {json.dumps(value)[:60]} is not a string.")
    return value


def _ip(value, where: str) -> str | None:
    """An IP address field (InternalIP, podIP), or None when absent or empty."""
    text = _str(value, where)
    if not text:
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise KubernetesDocumentError(f"{where}: '{text[:60]}' is not an IP address.") from None


def _count(value, where: str) -> int:
    """A non-negative integer field (restartCount); absent is 0."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise KubernetesDocumentError(f"{where}: {json.dumps(value)[:60]} is not a count (a whole number >= 0).")
    return value


def _node(index: int, item: dict, where: str) -> NodeRecord:
    metadata, status = item["metadata"], _dict(item.get("status"), f"{where}: status")
    labels = _dict(metadata.get("labels"), f"{where}: metadata.labels")
    info = _dict(status.get("nodeInfo"), f"{where}: status.nodeInfo")
    capacity = _dict(status.get("capacity"), f"{where}: status.capacity")
    roles = sorted(key.split("/", 1)[1] for key in labels if key.startswith("node-role.kubernetes.io/"))
    addresses = [
        _dict(a, f"{where}: status.addresses[{i}]")
        for i, a in enumerate(_list(status.get("addresses"), f"{where}: status.addresses"))
    ]
    internal = next(
        (
            _ip(a.get("address"), f"{where}: status.addresses[{i}].address")
            for i, a in enumerate(addresses)
            if a.get("type") == "InternalIP"
        ),
        None,
    )
    cpus = parse_quantity(capacity.get("cpu", "2"), what=f"{where}: status.capacity.cpu")
    memory = parse_quantity(capacity.get("memory", "4Gi"), what=f"{where}: status.capacity.memory")
    disk = parse_quantity(
        capacity.get("ephemeral-storage", "100Gi"), what=f"{where}: status.capacity.ephemeral-storage"
    )
    return NodeRecord(
        index=index,
        name=metadata["name"],
        uid=_str(metadata.get("uid"), f"{where}: metadata.uid") or "",
        roles=roles or ["worker"],
        kubelet_version=_str(info.get("kubeletVersion"), f"{where}: status.nodeInfo.kubeletVersion") or "",
        os_image=(_str(info.get("osImage"), f"{where}: status.nodeInfo.osImage") or "")[:100],
        internal_ip=internal or None,
        ready=_ready(status, where),
        cpus=max(1, int(-(-cpus // 1))),
        # A VM's memory is whole MiB; round the node's reported capacity up to that.
        memory_bytes=int(-(-memory // MIB)) * MIB,
        disk_bytes=int(disk),
    )


def _pod(index: int, item: dict, where: str) -> PodRecord:
    metadata = item["metadata"]
    spec, status = _dict(item.get("spec"), f"{where}: spec"), _dict(item.get("status"), f"{where}: status")
    namespace = metadata.get("namespace")
    if not isinstance(namespace, str) or not namespace:
        raise KubernetesDocumentError(f"{where}: a Pod needs metadata.namespace.")
    labels = _dict(metadata.get("labels"), f"{where}: metadata.labels")
    phase = _str(status.get("phase"), f"{where}: status.phase") or PodPhase.UNKNOWN
    if phase not in PodPhase.values:
        raise KubernetesDocumentError(
            f"{where}: status.phase '{phase}' is not a pod phase ({', '.join(PodPhase.values)})."
        )
    statuses = {}
    for i, s in enumerate(_list(status.get("containerStatuses"), f"{where}: status.containerStatuses")):
        s = _dict(s, f"{where}: status.containerStatuses[{i}]")
        statuses[_str(s.get("name"), f"{where}: status.containerStatuses[{i}].name")] = (i, s)
    containers = []
    for position, container in enumerate(_list(spec.get("containers"), f"{where}: spec.containers")):
        here = f"{where}: spec.containers[{position}]"
        if not isinstance(container, dict) or not container.get("name") or not container.get("image"):
            raise KubernetesDocumentError(f"{here} needs a name and an image.")
        name, image = _str(container["name"], f"{here}.name"), _str(container["image"], f"{here}.image")
        i, state = statuses.get(name, (None, {}))
        there = f"{where}: status.containerStatuses[{i}]"
        containers.append(
            {
                "name": name,
                "image": image,
                "ready": state.get("ready") is True,
                "restart_count": _count(state.get("restartCount"), f"{there}.restartCount"),
                "state": next(iter(_dict(state.get("state"), f"{there}.state")), "waiting"),
            }
        )
    if not containers:
        raise KubernetesDocumentError(f"{where}: a Pod has at least one container in spec.containers.")
    return PodRecord(
        index=index,
        namespace=namespace,
        name=metadata["name"],
        uid=_str(metadata.get("uid"), f"{where}: metadata.uid") or "",
        labels={str(k): str(v) for k, v in labels.items()},
        node_name=_str(spec.get("nodeName"), f"{where}: spec.nodeName") or None,
        phase=phase,
        pod_ip=_ip(status.get("podIP"), f"{where}: status.podIP"),
        restart_count=sum(c["restart_count"] for c in containers),
        containers=containers,
        started_at=_timestamp(status.get("startTime"), f"{where}: status.startTime"),
    )


def parse_kubectl_list(document: str | bytes | dict) -> KubectlList:
    """Validates the whole document (a v1 List of Nodes and Pods) and returns its records, or raises
    KubernetesDocumentError with a message naming the first bad item."""
    data = _load(document)
    kind = data.get("kind")
    if kind != "List":
        raise KubernetesDocumentError(
            f"Not a Kubernetes List: kind is {kind!r}; expected 'List', as `kubectl get nodes,pods -o json` prints."
        )
    items = data.get("items")
    if not isinstance(items, list):
        raise KubernetesDocumentError("Not a Kubernetes List: it has no 'items' array.")
    result = KubectlList()
    for index, item in enumerate(items):
        where = f"items[{index}]"
        if not isinstance(item, dict):
            raise KubernetesDocumentError(f"{where} is not an object.")
        item_kind = item.get("kind")
        if item_kind not in ("Node", "Pod"):
            raise KubernetesDocumentError(f"{where}: kind {item_kind!r} is not supported; only Node and Pod items are.")
        metadata = item.get("metadata")
        if not isinstance(metadata, dict) or not isinstance(metadata.get("name"), str) or not metadata["name"]:
            raise KubernetesDocumentError(f"{where} ({item_kind}): metadata.name is missing.")
        where = f"{where} ({item_kind} {metadata['name']})"
        if item_kind == "Node":
            result.nodes.append(_node(index, item, where))
        else:
            result.pods.append(_pod(index, item, where))
    node_names: set[str] = set()
    for node in result.nodes:
        if node.name in node_names:
            raise KubernetesDocumentError(f"items[{node.index}]: node {node.name} appears twice.")
        node_names.add(node.name)
    pod_keys: set[tuple[str, str]] = set()
    for pod in result.pods:
        if (pod.namespace, pod.name) in pod_keys:
            raise KubernetesDocumentError(f"items[{pod.index}]: pod {pod.namespace}/{pod.name} appears twice.")
        pod_keys.add((pod.namespace, pod.name))
        if pod.node_name and pod.node_name not in node_names:
            raise KubernetesDocumentError(
                f"items[{pod.index}] (Pod {pod.namespace}/{pod.name}): spec.nodeName {pod.node_name!r} is not a "
                "node in this document (export nodes and pods together: kubectl get nodes,pods -o json)."
            )
    return result
