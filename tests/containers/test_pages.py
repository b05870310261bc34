"""The container pages: what viewers see, what operators can do, and what they are refused."""

import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from containers.models import ContainerCluster, ContainerEvent, Pod
from containers.services.create import container_create
from containers.services.kubernetes_import import cluster_import_kubernetes
from hybridcloud.core.units import GIB
from inventory.choices import PowerState
from inventory.models import Workload

SAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "kubectl_nodes_pods.json"


@pytest.fixture
def web(container_host):
    return container_create(
        container_host=container_host, name="web", image_ref="nginx:1.27", ports=["8080:80"], memory_bytes=GIB
    )


@pytest.fixture
def k8s(topo):
    cluster = ContainerCluster.objects.create(name="prod-k8s", site=topo.ca, segment=topo.stretched)
    cluster_import_kubernetes(cluster=cluster, document=SAMPLE.read_bytes())
    return cluster


def create_form(**overrides):
    data = {
        "name": "api",
        "image": "",
        "command": "",
        "env": "",
        "ports": "",
        "cpus": "1",
        "memory": "512m",
        "restart_policy": "no",
    }
    data.update(overrides)
    return data


def test_index_lists_container_hosts_with_counts_and_capacity(viewer_client, web, k8s):
    response = viewer_client.get("/containers/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "ca-docker" in body and "tcp://ca-docker.example.net:2376" in body
    assert '1 <span class="muted small">(1 running)</span>' in body
    assert "1.0 GiB / 64 GiB" in body and "1 / 16" in body
    assert "prod-k8s" in body and "nginx" in body
    assert 'id="pull-form"' not in body  # viewers do not pull


def test_index_queries_do_not_grow_with_containers(viewer_client, container_host):
    for i in range(3):
        container_create(container_host=container_host, name=f"c{i}", image_ref="redis:7.4")
    with CaptureQueriesContext(connection) as few:
        viewer_client.get("/containers/")
    for i in range(3, 9):
        container_create(container_host=container_host, name=f"c{i}", image_ref="redis:7.4")
    with CaptureQueriesContext(connection) as many:
        viewer_client.get("/containers/")
    assert len(many) == len(few)


def test_host_page_shows_containers_and_hides_forms_from_viewers(viewer_client, web):
    body = viewer_client.get("/containers/hosts/ca-docker/").content.decode()
    assert "web" in body and "nginx:1.27" in body and "10.10.0.2" in body and "8080→80/tcp" in body
    assert 'id="container-form"' not in body and 'data-action="stop"' not in body


def test_operator_creates_a_container_vm_from_the_form(operator_client, container_host):
    from containers.models import Image

    image = Image.objects.get(repository="redis", tag="7.4")
    response = operator_client.post(
        "/containers/hosts/ca-docker/",
        create_form(name="cache", image=image.pk, ports="6379:6379", env="A=1\nB=two", memory="1g", cpus="0.5"),
    )
    workload = Workload.objects.get(name="cache")
    assert response.status_code == 302 and response.url == f"/containers/vm/{workload.pk}/"
    assert workload.container.environment == {"A": "1", "B": "two"}
    assert workload.memory_bytes == GIB and workload.vcpus == 1
    page = operator_client.get(response.url).content.decode()
    assert "Created container-VM cache" in page and "redis:7.4" in page and "6379 → 6379/tcp" in page


def test_form_shows_the_refusal_and_creates_nothing(operator_client, web):
    from containers.models import Image

    image = Image.objects.get(repository="nginx")
    before = Workload.objects.count()
    response = operator_client.post(
        "/containers/hosts/ca-docker/", create_form(name="web2", image=image.pk, ports="8080:80")
    )
    assert response.status_code == 200
    assert "port is already allocated (published by container web)" in response.content.decode()
    assert Workload.objects.count() == before


def test_viewer_cannot_create_or_act(viewer_client, web):
    from containers.models import Image

    image = Image.objects.get(repository="nginx")
    assert viewer_client.post("/containers/hosts/ca-docker/", create_form(name="x1", image=image.pk)).status_code == 403
    assert viewer_client.post(f"/containers/vm/{web.pk}/stop/").status_code == 403
    assert viewer_client.post("/containers/images/pull/", {"reference": "alpine:3.20"}).status_code == 403
    assert not Workload.objects.filter(name="x1").exists()
    web.refresh_from_db()
    assert web.power_state == PowerState.ON


def test_operator_stops_starts_and_removes_from_buttons(operator_client, web):
    operator_client.post(f"/containers/vm/{web.pk}/stop/")
    web.refresh_from_db()
    assert web.power_state == PowerState.OFF
    operator_client.post(f"/containers/vm/{web.pk}/start/")
    web.refresh_from_db()
    assert web.power_state == PowerState.ON
    response = operator_client.post(f"/containers/vm/{web.pk}/remove/", {"force": "1"})
    assert response.url == "/containers/hosts/ca-docker/"
    assert not Workload.objects.filter(pk=web.pk).exists()
    assert ContainerEvent.objects.filter(subject="web", action="remove").exists()


def test_container_page_shows_container_and_vm_side_by_side_with_migrate_for_operators(operator_client, web):
    body = operator_client.get(f"/containers/vm/{web.pk}/").content.decode()
    assert 'id="container-view"' in body and 'id="vm-view"' in body
    assert "sha256:" in body and "ca-esx-0" in body and "California DC" in body and "10.10.0.2" in body
    assert f'href="/migrations/new/?workload={web.pk}"' in body


def test_container_page_has_no_migrate_button_for_viewers(viewer_client, web):
    body = viewer_client.get(f"/containers/vm/{web.pk}/").content.decode()
    assert "/migrations/new/" not in body


def test_cluster_page_lists_nodes_linked_to_vms_and_pods_by_namespace(viewer_client, k8s):
    body = viewer_client.get("/containers/clusters/prod-k8s/").content.decode()
    worker = Workload.objects.get(name="k8s-worker-01")
    assert f'href="/workloads/{worker.pk}/"' in body
    for namespace in ("kube-system", "default", "shop"):
        assert f'data-namespace="{namespace}"' in body
    assert 'badge amber">Pending' in body and 'badge green">Running' in body
    assert 'id="import-form"' not in body


def test_operator_imports_from_the_cluster_page_and_a_bad_file_changes_nothing(operator_client, topo):
    ContainerCluster.objects.create(name="edge", site=topo.ca)
    bad = SimpleUploadedFile("bad.json", b'{"kind": "Pod"}', content_type="application/json")
    response = operator_client.post("/containers/clusters/edge/", {"document": bad})
    assert "Import refused, nothing changed: Not a Kubernetes List" in response.content.decode()
    assert not Pod.objects.exists()
    good = SimpleUploadedFile("k.json", SAMPLE.read_bytes(), content_type="application/json")
    response = operator_client.post("/containers/clusters/edge/", {"document": good}, follow=True)
    assert "Pods: 18 created" in response.content.decode()
    assert Pod.objects.filter(cluster__name="edge").count() == 18


def test_pod_page_says_it_cannot_move_live_and_reschedules(operator_client, k8s):
    pod = Pod.objects.get(name="redis-cart-0")
    body = operator_client.get(f"/containers/pods/{pod.pk}/").content.decode()
    assert "cannot move live" in body and "/migrations/new/" not in body
    target = k8s.nodes.get(name="k8s-worker-01")
    operator_client.post(f"/containers/pods/{pod.pk}/", {"node": target.pk})
    pod.refresh_from_db()
    assert pod.node == target


def test_sample_is_valid_json():
    assert json.loads(SAMPLE.read_text())["kind"] == "List"


def test_workload_page_shows_the_container_panel_for_container_vms_only(viewer_client, web, topo):
    from tests import factories

    factories.workload(topo.ca_hosts[0], name="plain-vm", segment=topo.stretched)
    body = viewer_client.get(f"/workloads/{web.pk}/").content.decode()
    assert 'id="container-panel"' in body and "nginx:1.27" in body and "8080→80/tcp" in body
    vm = Workload.objects.get(name="plain-vm")
    assert 'id="container-panel"' not in viewer_client.get(f"/workloads/{vm.pk}/").content.decode()
