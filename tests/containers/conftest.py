import pytest

from containers.models import ContainerHost
from containers.services.images import image_pull
from hybridcloud.core.units import GIB
from tests import factories


@pytest.fixture
def topo(db):
    return factories.topology()


@pytest.fixture
def container_host(topo):
    """A container host on the California cluster, its containers on the stretched segment; images pulled."""
    for ref in ("nginx:1.27", "redis:7.4", "postgres:16"):
        repository, tag = ref.split(":")
        image_pull(repository=repository, tag=tag)
    return ContainerHost.objects.create(
        name="ca-docker",
        cluster=topo.ca_cluster,
        cpu_limit=16,
        memory_limit_bytes=64 * GIB,
        segment=topo.stretched,
        endpoint="tcp://ca-docker.example.net:2376",
    )
