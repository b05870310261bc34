"""A real browser watches the workloads table while the real docker CLI creates a container-VM: the row appears
without a page reload (the activity channel pushes a hint, the page refetches its own table)."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

from tests.conftest import browser_login, screenshot
from tests.containers.test_docker_cli import DOCKER, DockerCLI, content_type_ids_as_migrated  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.skipif(DOCKER is None, reason="the docker CLI is not installed (apt-get install docker-cli)"),
]


def test_docker_run_appears_in_the_open_workloads_table_without_a_reload(
    live_server_url, container_host, operator, viewer, tmp_path, page
):
    docker = DockerCLI(
        live_server_url, container_host.name, tmp_path / "operator", Token.objects.create(user=operator).key
    )
    docker("run", "-d", "--name", "old-cache", "redis:7.4")

    browser_login(page, live_server_url, viewer.username)
    page.goto(f"{live_server_url}/workloads/?kind=container_vm")
    page.wait_for_selector("#workloads-table tr[data-id]")
    page.wait_for_selector('#live-indicator[data-state="live"]')
    page.evaluate("window.__marker = 1")
    assert "1 workload matches the filters" in page.inner_text("#workload-count")
    assert page.locator("#workloads-table tbody tr", has_text="live-web").count() == 0
    screenshot(page, "docker-live-1-before")

    docker("run", "-d", "--name", "live-web", "-p", "8081:80", "nginx:1.27")

    row = page.locator("#workloads-table tbody tr", has_text="live-web")
    row.wait_for(timeout=10_000)
    assert page.evaluate("window.__marker") == 1, "the page was reloaded"
    assert "2 workloads match the filters" in page.inner_text("#workload-count")
    assert "row-new" in (row.get_attribute("class") or "")
    # `docker run` is a create then a start: the start's push refreshes the row again (debounced to 1/s).
    row.locator(".badge", has_text="Powered on").wait_for(timeout=10_000)
    assert page.locator("#workloads-table tbody tr", has_text="old-cache").count() == 1
    screenshot(page, "docker-live-2-after")
    assert page.console_errors == []
