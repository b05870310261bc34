import pytest

from tests import factories

pytestmark = pytest.mark.django_db


def test_topology_builds_valid_inventory():
    topo = factories.topology()
    wl = factories.workload(topo.ca_hosts[0], segment=topo.stretched)
    wl.full_clean()
    assert wl.host.site == topo.ca
