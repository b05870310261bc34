"""Importing `kubectl get nodes,pods -o json`: nodes to VMs, pods created, updated and removed; bad input refused."""

import copy
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from containers.models import ContainerCluster, ContainerEvent, Node, Pod
from containers.services.kubernetes_import import cluster_import_kubernetes
from containers.services.pods import pod_reschedule
from containers.services.refusals import ContainerRefused
from inventory.choices import WorkloadKind
from inventory.models import Workload
from tests import factories

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "kubectl_nodes_pods.json"


@pytest.fixture
def sample() -> dict:
    return json.loads(SAMPLE.read_text())


@pytest.fixture
def k8s(topo):
    return ContainerCluster.objects.create(name="prod-k8s", site=topo.ca, segment=topo.stretched)


def snapshot(cluster):
    return (
        sorted(Node.objects.filter(cluster=cluster).values_list("name", "ready")),
        sorted(Pod.objects.filter(cluster=cluster).values_list("namespace", "name", "phase", "node__name")),
        Workload.objects.count(),
    )


def test_the_sample_is_a_realistic_kubectl_list():
    data = json.loads(SAMPLE.read_text())
    assert data["kind"] == "List" and data["apiVersion"] == "v1"
    kinds = [item["kind"] for item in data["items"]]
    assert kinds.count("Node") >= 3 and kinds.count("Pod") >= 10
    namespaces = {item["metadata"]["namespace"] for item in data["items"] if item["kind"] == "Pod"}
    assert {"kube-system", "default", "shop"} <= namespaces


def test_first_import_creates_node_vms_on_the_site_and_the_pods(k8s, topo, sample):
    vms_before = Workload.objects.count()
    report = cluster_import_kubernetes(cluster=k8s, document=json.dumps(sample))

    assert report.created_nodes == ["k8s-cp-01", "k8s-worker-01", "k8s-worker-02"]
    assert len(report.created_pods) == 18 and not report.updated_pods and not report.removed_pods
    assert Workload.objects.count() == vms_before + 3
    worker = Workload.objects.get(name="k8s-worker-01")
    assert worker.kind == WorkloadKind.VM and worker.host.cluster.site == topo.ca
    assert worker.vcpus == 8 and worker.ip_address == "10.10.8.11"  # its InternalIP, free on the segment
    assert "k8s-worker-01 on host ca-esx-0" in report.summary() and "(California DC)" in report.summary()
    node = Node.objects.get(cluster=k8s, name="k8s-cp-01")
    assert node.roles == ["control-plane"] and node.kubelet_version == "v1.30.4" and node.ready
    assert node.workload.name == "k8s-cp-01"
    cart = Pod.objects.get(cluster=k8s, namespace="shop", name="cartservice-84c9b7d6d4-fw9nx")
    assert cart.node.name == "k8s-worker-02" and cart.phase == "Running" and cart.restart_count == 3
    assert cart.containers[0]["image"] == "ghcr.io/acme-shop/cartservice:2.14.0"
    assert cart.labels["app"] == "cartservice"
    pending = Pod.objects.get(cluster=k8s, namespace="shop", name__startswith="recommendationservice")
    assert pending.phase == "Pending" and pending.node is None
    k8s.refresh_from_db()
    assert k8s.version == "v1.30.4" and k8s.imported_at is not None


def test_nodes_match_existing_vms_of_the_clusters_site_by_name(k8s, topo, sample):
    existing = factories.workload(topo.ca_hosts[1], name="k8s-worker-02", segment=topo.stretched)
    report = cluster_import_kubernetes(cluster=k8s, document=sample)
    assert report.matched_nodes == ["k8s-worker-02"]
    assert Node.objects.get(cluster=k8s, name="k8s-worker-02").workload == existing


def test_a_namesake_on_another_site_is_not_taken_for_the_nodes_vm(k8s, topo, sample):
    # A VM in Virginia that happens to share a node's name is not that node: the California cluster's import must
    # not bind its node to it (it did: names were matched across every workload), and refuses rather than guess.
    factories.workload(topo.va_hosts[0], name="k8s-worker-02", segment=topo.stretched)
    before = snapshot(k8s)
    with pytest.raises(ContainerRefused) as exc:
        cluster_import_kubernetes(cluster=k8s, document=sample)
    assert exc.value.code == "conflict"
    assert (
        "items[2]: node k8s-worker-02 has no VM on California DC: the workload named k8s-worker-02 is a VM on host "
        "va-esx-01 (Virginia DC), outside cluster prod-k8s's site" in exc.value.messages[0]
    )
    assert snapshot(k8s) == before and not Node.objects.filter(cluster=k8s).exists()


def test_a_reimport_keeps_each_node_on_its_vm_after_the_vm_moved_to_another_site(k8s, topo, sample):
    cluster_import_kubernetes(cluster=k8s, document=sample)
    vm = Workload.objects.get(name="k8s-worker-01")
    Workload.objects.filter(pk=vm.pk).update(host=topo.va_hosts[0])  # moved live to Virginia since
    report = cluster_import_kubernetes(cluster=k8s, document=sample)
    assert "k8s-worker-01" in report.matched_nodes and not report.created_nodes
    assert Node.objects.get(cluster=k8s, name="k8s-worker-01").workload == vm


def test_a_second_export_updates_changed_pods_and_removes_missing_ones(k8s, sample):
    cluster_import_kubernetes(cluster=k8s, document=sample)
    changed = copy.deepcopy(sample)
    items = changed["items"]
    # The pending pod got scheduled, a frontend pod went away, a new one appeared, a node went NotReady.
    pending = next(i for i in items if i["metadata"]["name"].startswith("recommendationservice"))
    pending["spec"]["nodeName"] = "k8s-worker-01"
    pending["status"]["phase"] = "Running"
    items.remove(next(i for i in items if i["metadata"]["name"] == "frontend-6d8f7c9b5-2lq8r"))
    extra = copy.deepcopy(next(i for i in items if i["metadata"]["name"] == "frontend-6d8f7c9b5-8sd3k"))
    extra["metadata"]["name"] = "frontend-6d8f7c9b5-zz9k1"
    items.append(extra)
    worker2 = next(i for i in items if i["kind"] == "Node" and i["metadata"]["name"] == "k8s-worker-02")
    next(c for c in worker2["status"]["conditions"] if c["type"] == "Ready")["status"] = "Unknown"
    vms = Workload.objects.count()

    report = cluster_import_kubernetes(cluster=k8s, document=json.dumps(changed).encode())

    assert report.created_pods == ["shop/frontend-6d8f7c9b5-zz9k1"]
    assert report.updated_pods == ["shop/recommendationservice-7b9f6c5d8-p4kzt"]
    assert report.removed_pods == ["shop/frontend-6d8f7c9b5-2lq8r"]
    assert len(report.unchanged_pods) == 16 and sorted(report.matched_nodes) == sorted(report.matched_nodes)
    assert len(report.matched_nodes) == 3 and not report.created_nodes
    assert Workload.objects.count() == vms  # no VM created twice
    assert not Pod.objects.filter(name="frontend-6d8f7c9b5-2lq8r").exists()
    assert Pod.objects.get(name__startswith="recommendationservice").node.name == "k8s-worker-01"
    assert not Node.objects.get(cluster=k8s, name="k8s-worker-02").ready


def drop_name(doc):
    doc["items"][5]["metadata"].pop("name")
    return doc


def no_namespace(doc):
    doc["items"][7]["metadata"].pop("namespace")
    return doc


def wrong_item_kind(doc):
    doc["items"][4]["kind"] = "Service"
    return doc


def dangling_node(doc):
    doc["items"][-1]["spec"]["nodeName"] = "k8s-worker-09"
    return doc


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda doc: "{ this is not json", "Not JSON: Expecting property name enclosed in double quotes at line 1"),
        (lambda doc: json.dumps([1, 2]), "Not a Kubernetes List: expected a JSON object"),
        (lambda doc: {**doc, "kind": "PodList"}, "Not a Kubernetes List: kind is 'PodList'"),
        (lambda doc: {"kind": "List"}, "it has no 'items' array"),
        (drop_name, "items[5] (Pod): metadata.name is missing."),
        (no_namespace, "items[7] (Pod coredns-7db6d8ff4d-4xk2p): a Pod needs metadata.namespace."),
        (wrong_item_kind, "items[4]: kind 'Service' is not supported; only Node and Pod items are."),
        (dangling_node, "spec.nodeName 'k8s-worker-09' is not a node in this document"),
    ],
)
def test_bad_documents_are_refused_with_a_clear_message_and_change_nothing(k8s, sample, mutate, message):
    cluster_import_kubernetes(cluster=k8s, document=sample)
    before = snapshot(k8s)
    with pytest.raises(ContainerRefused) as exc:
        cluster_import_kubernetes(cluster=k8s, document=mutate(copy.deepcopy(sample)))
    assert message in exc.value.messages[0]
    assert snapshot(k8s) == before


def test_a_late_failure_rolls_back_everything_already_imported(k8s, topo, sample):
    # The third node cannot be placed: the site's hosts have no memory left for it.
    huge = next(i for i in sample["items"] if i["metadata"]["name"] == "k8s-worker-02")
    huge["status"]["capacity"]["memory"] = "900Gi"
    before = snapshot(k8s)
    with pytest.raises(ContainerRefused, match=r"items\[2\]: No capacity for node VM k8s-worker-02"):
        cluster_import_kubernetes(cluster=k8s, document=sample)
    assert snapshot(k8s) == before
    assert not Workload.objects.filter(name__startswith="k8s-").exists()


def test_command_imports_the_file_and_prints_the_report(k8s, capsys):
    call_command("import_kubernetes", str(SAMPLE), cluster="prod-k8s")
    out = capsys.readouterr().out
    assert "Nodes: 3 created" in out and "Pods: 18 created" in out
    assert Pod.objects.filter(cluster=k8s).count() == 18


def test_command_can_create_the_cluster_on_a_site(topo):
    call_command("import_kubernetes", str(SAMPLE), cluster="edge", site="California DC")
    assert ContainerCluster.objects.get(name="edge").pods.count() == 18


def test_command_exits_non_zero_with_the_message_on_bad_input(k8s, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"kind": "List", "items": [{"kind": "Pod", "metadata": {}}]}')
    with pytest.raises(CommandError, match=r"Import refused, nothing changed: items\[0\] \(Pod\): metadata.name"):
        call_command("import_kubernetes", str(bad), cluster="prod-k8s")
    with pytest.raises(CommandError, match="No container cluster named 'nope'"):
        call_command("import_kubernetes", str(SAMPLE), cluster="nope")
    assert not Pod.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_command_run_as_a_process_exits_non_zero(k8s, tmp_path):
    """The real CLI contract: a refused file is a non-zero exit with the reason on stderr."""
    import subprocess
    import sys

    from tests.conftest import process_env

    bad = tmp_path / "bad.json"
    bad.write_text("not json at all")
    result = subprocess.run(
        [sys.executable, "manage.py", "import_kubernetes", "--cluster", "prod-k8s", str(bad)],
        capture_output=True,
        text=True,
        env=process_env(DEBUG="1"),
        cwd=Path(__file__).resolve().parents[2],
        timeout=60,
    )
    assert result.returncode != 0
    assert "Not JSON" in result.stderr


def test_rescheduling_a_pod_is_a_cold_move_to_another_ready_node(k8s, sample, operator):
    cluster_import_kubernetes(cluster=k8s, document=sample)
    pod = Pod.objects.get(name="redis-cart-0")
    target = Node.objects.get(cluster=k8s, name="k8s-worker-01")
    pod_reschedule(pod=pod, node=target, user=operator)
    pod.refresh_from_db()
    assert pod.node == target and pod.phase == "Running" and pod.restart_count == 1
    event = ContainerEvent.objects.get(pod=pod)
    assert event.action == "reschedule" and "cold move" in event.message and event.user == operator
    with pytest.raises(ContainerRefused, match="already runs on node k8s-worker-01"):
        pod_reschedule(pod=pod, node=target)
    Node.objects.filter(name="k8s-worker-02").update(ready=False)
    with pytest.raises(ContainerRefused, match="is not Ready"):
        pod_reschedule(pod=pod, node=Node.objects.get(name="k8s-worker-02"))
