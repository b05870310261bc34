"""A real browser: an operator runs a container from the form, finds it beside VMs, and migrates it."""

import re

import pytest

from containers.models import ContainerHost
from containers.services.images import image_pull
from hybridcloud.core.units import GIB
from inventory.models import Workload
from tests import factories
from tests.conftest import browser_login, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_create_container_vm_from_form_find_it_in_workloads_and_migrate_it(live_server_url, celery_worker, page):
    make_user("otto", group="operators")
    topo = factories.topology()
    factories.workload(topo.ca_hosts[0], name="billing-vm", segment=topo.stretched)
    image_pull(repository="nginx", tag="1.27")
    ContainerHost.objects.create(
        name="ca-docker", cluster=topo.ca_cluster, cpu_limit=16, memory_limit_bytes=64 * GIB,
        segment=topo.stretched, endpoint="tcp://ca-docker.example.net:2376",
    )  # fmt: skip

    browser_login(page, live_server_url, "otto")
    page.goto(f"{live_server_url}/containers/")
    page.wait_for_selector("#container-hosts")
    screenshot(page, "containers-1-index")
    page.click("text=ca-docker")
    page.wait_for_selector("#container-form")
    page.fill("#id_name", "shop-web")
    page.select_option("#id_image", label="nginx:1.27")
    page.fill("#id_ports", "8080:80")
    page.fill("#id_env", "TZ=UTC")
    page.fill("#id_memory", "1g")
    screenshot(page, "containers-2-form")
    page.click("#create-button")
    page.wait_for_url(re.compile(r"/containers/vm/\d+/$"))
    page.wait_for_selector("#vm-view")
    assert "8080 → 80/tcp" in page.text_content("#container-view")
    workload = Workload.objects.get(name="shop-web")
    assert workload.ip_address in page.text_content("#vm-view")
    screenshot(page, "containers-3-detail")

    page.goto(f"{live_server_url}/workloads/?kind=container_vm")
    page.wait_for_selector("text=shop-web")
    screenshot(page, "containers-4-workloads-table")
    page.goto(f"{live_server_url}/workloads/")
    page.wait_for_selector("text=billing-vm")
    assert page.locator("text=shop-web").count() >= 1  # beside the VM

    page.goto(f"{live_server_url}/containers/vm/{workload.pk}/")
    page.click("#migrate-button")
    page.wait_for_url(re.compile(r"/migrations/new/\?workload=\d+"))
    destination = topo.ca_hosts[1] if workload.host == topo.ca_hosts[0] else topo.ca_hosts[0]
    page.select_option("#id_destination_host", str(destination.pk))
    page.click("#check-button")
    page.wait_for_selector("#prediction")
    screenshot(page, "containers-5-migrate-wizard")
    page.click("#start-button")
    page.wait_for_url(re.compile(r"/migrations/\d+/$"))
    page.wait_for_function("() => document.getElementById('state-badge').dataset.state === 'completed'", timeout=60_000)
    screenshot(page, "containers-6-migrated")
    workload.refresh_from_db()
    assert workload.host == destination
    assert page.console_errors == []
