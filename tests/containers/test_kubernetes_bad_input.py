"""Bad `kubectl get nodes,pods -o json` documents, through both doors (the `import_kubernetes` command and the upload
form on the cluster page): each is refused with a message naming the item and the field, and nothing is imported,
not even what came before the bad item (one transaction)."""

import copy
import html
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from containers.models import ContainerCluster
from containers.services.kubernetes_import import cluster_import_kubernetes
from tests.containers.test_kubernetes_import import SAMPLE, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def k8s(topo):
    return ContainerCluster.objects.create(name="prod-k8s", site=topo.ca, segment=topo.stretched)


def item(doc, name):
    """(index, item) of the item called `name`."""
    return next((i, it) for i, it in enumerate(doc["items"]) if it["metadata"].get("name") == name)


def change(name, edit):
    """A mutation of the item `name`; returns the mutated document and where the message must point."""

    def mutate(doc):
        index, it = item(doc, name)
        edit(it)
        return doc, f"items[{index}] ({it['kind']} {name})"

    return mutate


NODE, POD = "k8s-worker-01", "cartservice-84c9b7d6d4-fw9nx"


def capacity(key, value):
    return change(NODE, lambda it: it["status"]["capacity"].__setitem__(key, value))


def status(key, value, name=POD):
    return change(name, lambda it: it["status"].__setitem__(key, value))


def first_container(key, value):
    return change(POD, lambda it: it["spec"]["containers"][0].__setitem__(key, value))


def first_status(key, value):
    return change(POD, lambda it: it["status"]["containerStatuses"][0].__setitem__(key, value))


def duplicate_node(doc):
    index, it = item(doc, "k8s-worker-02")
    it["metadata"]["name"] = NODE
    return doc, f"items[{index}]: node {NODE} appears twice."


def duplicate_pod(doc):
    index, it = item(doc, POD)
    doc["items"].append(copy.deepcopy(it))
    return doc, f"items[{len(doc['items']) - 1}]: pod shop/{POD} appears twice."


CASES = {
    # bad quantities
    "cpu 12Zi": (capacity("cpu", "12Zi"), "status.capacity.cpu: '12Zi' is not a Kubernetes quantity."),
    "memory -1": (capacity("memory", "-1"), "status.capacity.memory: '-1' is not a Kubernetes quantity."),
    "storage abc": (capacity("ephemeral-storage", "abc"), "status.capacity.ephemeral-storage: 'abc' is not"),
    "cpu array": (capacity("cpu", [8]), "status.capacity.cpu: [8] is not a Kubernetes quantity"),
    "memory 1e400": (capacity("memory", "1e400"), "status.capacity.memory: '1e400' is too large to be real."),
    # bad timestamps
    "time word": (status("startTime", "yesterday"), 'status.startTime: "yesterday" is not an RFC 3339 timestamp.'),
    "time month 13": (status("startTime", "2024-13-45T10:00:00Z"), "status.startTime: '2024-13-45T10:00:00Z' is not"),
    "time no zone": (status("startTime", "2024-09-02T10:16:03"), 'status.startTime: "2024-09-02T10:16:03" is not'),
    "time number": (status("startTime", 1725271200), "status.startTime: 1725271200 is not an RFC 3339 timestamp."),
    # duplicate names
    "duplicate node": (duplicate_node, ""),
    "duplicate pod": (duplicate_pod, ""),
    # missing fields
    "no containers": (change(POD, lambda it: it["spec"].pop("containers")), "a Pod has at least one container"),
    "no image": (change(POD, lambda it: it["spec"]["containers"][0].pop("image")), "spec.containers[0] needs a name"),
    "no namespace": (change(POD, lambda it: it["metadata"].pop("namespace")), "a Pod needs metadata.namespace."),
    # wrong JSON types
    "containers object": (change(POD, lambda it: it["spec"].__setitem__("containers", {"a": 1})), "spec.containers is"),
    "container name number": (first_container("name", 5), "spec.containers[0].name: 5 is not a string."),
    "statuses number": (status("containerStatuses", 5), "status.containerStatuses is not an array."),
    "restartCount text": (first_status("restartCount", "abc"), 'status.containerStatuses[0].restartCount: "abc"'),
    "restartCount negative": (
        first_status("restartCount", -2),
        "status.containerStatuses[0].restartCount: -2 is not a count",
    ),
    "state text": (first_status("state", "running"), "status.containerStatuses[0].state is not an object."),
    "nodeName array": (change(POD, lambda it: it["spec"].__setitem__("nodeName", ["x"])), 'spec.nodeName: ["x"]'),
    "podIP number": (status("podIP", 5), "status.podIP: 5 is not a string."),
    "podIP text": (status("podIP", "ten.0.0.1"), "status.podIP: 'ten.0.0.1' is not an IP address."),
    "phase array": (status("phase", ["Running"]), 'status.phase: ["Running"] is not a string.'),
    "labels array": (change(POD, lambda it: it["metadata"].__setitem__("labels", ["a"])), "metadata.labels is not an"),
    "addresses text": (status("addresses", "10.0.0.1", name=NODE), "status.addresses is not an array."),
    "address bad": (
        status("addresses", [{"type": "InternalIP", "address": "x"}], name=NODE),
        "status.addresses[0].address: 'x' is not an IP",
    ),
    "conditions text": (status("conditions", "Ready", name=NODE), "status.conditions is not an array."),
    "kubelet number": (
        change(NODE, lambda it: it["status"]["nodeInfo"].__setitem__("kubeletVersion", 1.3)),
        "status.nodeInfo.kubeletVersion: 1.3 is not a string.",
    ),
}


def refused_through_both_doors(k8s, client, document: bytes, message: str, tmp_path) -> None:
    before = snapshot(k8s)
    path = tmp_path / "bad.json"
    path.write_bytes(document)
    with pytest.raises(CommandError) as exc:
        call_command("import_kubernetes", str(path), cluster=k8s.name)
    assert "Import refused, nothing changed: " in str(exc.value) and message in str(exc.value), str(exc.value)
    assert snapshot(k8s) == before
    upload = SimpleUploadedFile("nodes-pods.json", document, content_type="application/json")
    response = client.post(f"/containers/clusters/{k8s.name}/", {"document": upload})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Import refused, nothing changed: " in page and html.escape(message) in page, message
    assert snapshot(k8s) == before


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_document_is_refused_naming_the_item_and_field_and_imports_nothing(k8s, operator_client, case, tmp_path):
    mutate, field = CASES[case]
    doc, where = mutate(json.loads(SAMPLE.read_text()))
    refused_through_both_doors(k8s, operator_client, json.dumps(doc).encode(), f"{where}{': ' if field else ''}{field}"
                               if field else where, tmp_path)  # fmt: skip


def test_a_bad_document_after_a_good_import_changes_nothing(k8s, operator_client, tmp_path):
    cluster_import_kubernetes(cluster=k8s, document=SAMPLE.read_text())
    doc, where = capacity("cpu", "12Zi")(json.loads(SAMPLE.read_text()))
    refused_through_both_doors(k8s, operator_client, json.dumps(doc).encode(), where, tmp_path)


def test_non_utf8_bytes_are_refused(k8s, operator_client, tmp_path):
    document = SAMPLE.read_bytes().replace(b'"shop"', b'"sh\xffop"', 1)
    refused_through_both_doors(k8s, operator_client, document, "Not JSON: the file is not UTF-8 text.", tmp_path)


def test_a_document_that_is_not_json_at_all_is_refused(k8s, operator_client, tmp_path):
    refused_through_both_doors(k8s, operator_client, b"\x00\x01PK\x03\x04", "Not JSON", tmp_path)
