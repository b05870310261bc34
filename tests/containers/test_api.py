"""The REST API: Docker-style creation, lifecycle actions, clusters and pods; viewers read, operators act."""

from pathlib import Path

import pytest

from containers.models import ContainerCluster, Image, Pod
from containers.services.create import container_create
from hybridcloud.core.units import GIB
from inventory.choices import PowerState
from inventory.models import Workload

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "kubectl_nodes_pods.json"

BODY = {
    "container_host": "ca-docker",
    "image": "nginx:1.27",
    "name": "web",
    "command": ["nginx", "-g", "daemon off;"],
    "env": ["TZ=UTC", "MODE=prod"],
    "ports": ["8080:80/tcp"],
    "cpus": "0.5",
    "memory": "1g",
}


def test_post_creates_a_container_vm_and_returns_it(operator_client, container_host):
    response = operator_client.post("/api/containers/", BODY, content_type="application/json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["name"] == "web" and data["image"] == "nginx:1.27" and data["state"] == "running"
    assert data["ports"] == [{"host_port": 8080, "container_port": 80, "protocol": "tcp"}]
    assert data["environment"] == {"TZ": "UTC", "MODE": "prod"}
    assert data["ip_address"] == "10.10.0.2" and data["memory_bytes"] == GIB and data["vcpus"] == 1
    assert Workload.objects.get(name="web").kind == "container_vm"
    listed = operator_client.get("/api/containers/").json()
    assert [c["name"] for c in listed["results"]] == ["web"]


@pytest.mark.parametrize(
    "change, message",
    [
        ({"image": "nginx:9.9"}, "No such image: nginx:9.9"),
        ({"name": "-oops"}, "Invalid container name (-oops)"),
        ({"memory": "900g", "ports": []}, "No capacity on container host ca-docker"),
        ({"ports": ["8080:80"], "name": "second"}, "port is already allocated"),
        ({"container_host": "nope"}, "No such container host: nope"),
    ],
)
def test_refused_requests_are_400_with_errors_and_create_nothing(operator_client, container_host, change, message):
    operator_client.post("/api/containers/", BODY, content_type="application/json")
    before = Workload.objects.count()
    response = operator_client.post(
        "/api/containers/", {**BODY, "name": "other", **change}, content_type="application/json"
    )
    assert response.status_code == 400
    assert any(message in error for error in response.json()["errors"])
    assert Workload.objects.count() == before


def test_lifecycle_actions_and_remove(operator_client, container_host):
    pk = operator_client.post("/api/containers/", BODY, content_type="application/json").json()["id"]
    assert operator_client.post(f"/api/containers/{pk}/stop/").json()["state"] == "exited"
    assert Workload.objects.get(pk=pk).power_state == PowerState.OFF
    assert operator_client.post(f"/api/containers/{pk}/start/").json()["state"] == "running"
    assert operator_client.post(f"/api/containers/{pk}/restart/").json()["power_state"] == "on"
    refused = operator_client.delete(f"/api/containers/{pk}/")
    assert refused.status_code == 400 and "running" in refused.json()["errors"][0]
    assert operator_client.delete(f"/api/containers/{pk}/?force=1").status_code == 204
    assert not Workload.objects.filter(pk=pk).exists()


def test_events_are_listed(operator_client, container_host):
    pk = operator_client.post("/api/containers/", BODY, content_type="application/json").json()["id"]
    operator_client.post(f"/api/containers/{pk}/stop/")
    actions = [e["action"] for e in operator_client.get(f"/api/containers/{pk}/events/").json()]
    assert actions == ["stop", "start", "create"]
    assert operator_client.get(f"/api/containers/{pk}/events/").json()[0]["user"] == "otto"


def test_viewer_reads_but_cannot_create_act_or_pull(viewer_client, container_host):
    pk = container_create(container_host=container_host, name="web", image_ref="nginx:1.27").pk
    viewer_client.force_login(
        __import__("django.contrib.auth", fromlist=["get_user_model"]).get_user_model().objects.get(username="vera")
    )
    assert viewer_client.get("/api/containers/").status_code == 200
    assert viewer_client.get("/api/container-hosts/ca-docker/").json()["container_count"] == 1
    response = viewer_client.post("/api/containers/", {**BODY, "name": "v1"}, content_type="application/json")
    assert response.status_code == 403
    assert viewer_client.post(f"/api/containers/{pk}/stop/").status_code == 403
    assert (
        viewer_client.post("/api/images/", {"image": "alpine:3.20"}, content_type="application/json").status_code == 403
    )
    assert not Workload.objects.filter(name="v1").exists()
    assert Workload.objects.get(pk=pk).power_state == PowerState.ON


def test_anonymous_is_refused(client, container_host):
    assert client.get("/api/containers/").status_code in (401, 403)


def test_images_list_and_pull(operator_client, container_host):
    response = operator_client.post("/api/images/", {"image": "grafana/grafana:11.2"}, content_type="application/json")
    assert response.status_code == 201 and response.json()["digest"].startswith("sha256:")
    refs = [i["reference"] for i in operator_client.get("/api/images/").json()["results"]]
    assert "grafana/grafana:11.2" in refs and "nginx:1.27" in refs
    assert Image.objects.count() == 4


def test_cluster_import_and_pods_over_the_api(operator_client, viewer, topo):
    ContainerCluster.objects.create(name="prod-k8s", site=topo.ca, segment=topo.stretched)
    bad = operator_client.post(
        "/api/container-clusters/prod-k8s/import/", data=b"nope", content_type="application/json"
    )
    assert bad.status_code == 400 and bad.json()["errors"][0].startswith("Not JSON")
    response = operator_client.post(
        "/api/container-clusters/prod-k8s/import/", data=SAMPLE.read_bytes(), content_type="application/json"
    )
    assert response.status_code == 200 and len(response.json()["created_pods"]) == 18
    pods = operator_client.get("/api/pods/?namespace=shop").json()
    assert pods["count"] == 6 and {p["cluster"] for p in pods["results"]} == {"prod-k8s"}
    cluster = operator_client.get("/api/container-clusters/prod-k8s/").json()
    assert cluster["node_count"] == 3 and cluster["pod_count"] == 18 and cluster["version"] == "v1.30.4"
    assert Pod.objects.count() == 18
