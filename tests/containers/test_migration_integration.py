"""A container-VM moves live between sites through the same migration service and driver as a VM."""

import time

import pytest

from containers.models import ContainerEvent
from containers.selectors import container_detail
from containers.services.create import container_create

pytestmark = pytest.mark.integration


def wait_for(check, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"not done within {timeout} s")


def test_container_vm_migrates_between_sites_keeping_ip_and_container(celery_worker, settings, container_host, topo):
    from migration.models import Migration
    from migration.services import migration_start

    settings.SIMULATION_SPEED = 20
    workload = container_create(
        container_host=container_host, name="web", image_ref="nginx:1.27", ports=["8080:80"], memory_bytes="2g"
    )
    ip = workload.ip_address
    migration = migration_start(
        workload=workload, destination_site=topo.va, override_reason="Disk moves with it: a small container disk."
    )
    done = wait_for(
        lambda: (m := Migration.objects.get(pk=migration.pk)).state in ("completed", "failed", "cancelled") and m,
        timeout=90,
    )
    assert done.state == "completed", done.outcome_reason
    spec = container_detail(workload.pk)
    assert spec.workload.host.cluster.site == topo.va
    assert spec.workload.ip_address == ip  # the stretched segment keeps its address
    assert spec.state == "running" and spec.ports[0]["host_port"] == 8080
    assert done.rounds_count >= 1 and done.downtime_s is not None
    assert ContainerEvent.objects.filter(workload=workload, action="create").exists()
