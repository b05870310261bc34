"""seed_containers: container hosts, images, a dozen container-VMs made through the services, one imported cluster."""

from django.core.management import call_command

from containers.models import ContainerCluster, ContainerEvent, ContainerHost, ContainerSpec, Image
from inventory.choices import WorkloadKind
from inventory.models import Workload
from tests import factories


def test_seed_without_inventory_is_a_no_op_with_a_message(db, capsys):
    call_command("seed_containers", seed=1)
    assert "No inventory" in capsys.readouterr().out
    assert not ContainerHost.objects.exists()


def test_seed_builds_hosts_images_containers_and_a_cluster_deterministically(topo, capsys):
    bare = factories.workload(topo.va_hosts[0], name="cart-api-01", kind=WorkloadKind.CONTAINER_VM)
    call_command("seed_containers", seed=3)
    first = sorted(ContainerSpec.objects.values_list("workload__name", "container_host__name", "workload__ip_address"))
    assert ContainerHost.objects.count() >= 2
    assert Image.objects.filter(repository="grafana/grafana", tag="11.2").exists()
    assert ContainerEvent.objects.filter(action="create").count() == 13  # a dozen and one, all via container_create
    assert ContainerSpec.objects.get(workload=bare).image.repository == "ghcr.io/acme-shop/cartservice"
    cluster = ContainerCluster.objects.get(name="shop-k8s")
    assert cluster.nodes.count() == 3 and cluster.pods.count() == 18
    assert Workload.objects.filter(kind=WorkloadKind.CONTAINER_VM, container__isnull=True).count() == 0

    call_command("seed_containers", seed=3)  # a second run leaves things alone
    assert "already exist" in capsys.readouterr().out
    call_command("seed_containers", seed=3, reset=True)
    again = sorted(ContainerSpec.objects.values_list("workload__name", "container_host__name", "workload__ip_address"))
    assert again == first
    assert Workload.objects.filter(pk=bare.pk).exists()  # seed_demo's own container-VM survives a reset
