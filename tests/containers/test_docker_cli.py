"""The real docker CLI, as a subprocess, against a live server: every command goes to
/docker/<container-host>/ and becomes container-VMs in the database, the workloads table and the REST API."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from urllib.parse import urlparse

import pytest
from rest_framework.authtoken.models import Token

from containers.models import ContainerEvent, ContainerSpec
from inventory.choices import PowerState
from inventory.models import Workload

DOCKER = shutil.which("docker")
pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(DOCKER is None, reason="the docker CLI is not installed (apt-get install docker-cli)"),
]


class DockerCLI:
    """`docker -H tcp://127.0.0.1:PORT/docker/<name> ...` with a private config.json carrying the token header."""

    def __init__(self, live_server_url: str, host_name: str, config_dir, token: str | None) -> None:
        self.host = f"tcp://{urlparse(live_server_url).netloc}/docker/{host_name}"
        config_dir.mkdir(parents=True, exist_ok=True)
        config = {"HttpHeaders": {"Authorization": f"Token {token}"}} if token else {}
        (config_dir / "config.json").write_text(json.dumps(config))
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(config_dir),
            "DOCKER_CONFIG": str(config_dir),
            "DOCKER_CLI_HINTS": "false",
            # Nothing may reach the internet: no proxy, no context, no registry login helper.
            "NO_PROXY": "*",
        }

    def __call__(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        result = subprocess.run(  # noqa: S603
            [DOCKER, "-H", self.host, *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if check and result.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result


@pytest.fixture
def docker(live_server_url, container_host, operator, tmp_path):
    return DockerCLI(
        live_server_url, container_host.name, tmp_path / "operator", Token.objects.create(user=operator).key
    )


def power(name: str) -> str:
    return Workload.objects.get(name=name).power_state


def test_run_detached_creates_a_container_vm_seen_by_ps_the_workloads_table_and_the_api(docker, operator_client):
    result = docker("run", "-d", "--name", "web", "-p", "8080:80", "-e", "TZ=UTC", "--cpus", "0.5", "--memory", "1g",
                    "nginx:1.27", "nginx", "-g", "daemon off;")  # fmt: skip
    ident = result.stdout.strip()
    assert len(ident) == 64
    workload = Workload.objects.get(name="web")
    spec = workload.container
    assert workload.kind == "container_vm" and workload.power_state == PowerState.ON and spec.state == "running"
    assert workload.memory_bytes == 2**30 and str(spec.cpus) == "0.50" and spec.environment == {"TZ": "UTC"}
    assert spec.command == ["nginx", "-g", "daemon off;"]
    assert spec.ports == [{"host_port": 8080, "container_port": 80, "protocol": "tcp"}]

    ps = docker("ps").stdout
    assert ident[:12] in ps and "nginx:1.27" in ps and "web" in ps and "0.0.0.0:8080->80/tcp" in ps
    page = operator_client.get("/workloads/", {"kind": "container_vm"})
    assert page.status_code == 200 and "web" in page.content.decode()
    api = operator_client.get("/api/workloads/", {"kind": "container_vm"}).json()
    rows = api["results"] if isinstance(api, dict) else api
    assert [row["name"] for row in rows] == ["web"]


def test_stop_start_restart_kill_and_rm_change_its_state(docker):
    docker("run", "-d", "--name", "web", "nginx:1.27")
    assert docker("stop", "web").stdout.strip() == "web"
    assert power("web") == PowerState.OFF and ContainerSpec.objects.get(workload__name="web").state == "exited"
    assert "Exited (0)" in docker("ps", "-a", "--filter", "name=web").stdout
    assert "web" not in docker("ps").stdout
    docker("start", "web")
    assert power("web") == PowerState.ON
    docker("restart", "web")
    assert power("web") == PowerState.ON
    assert ContainerEvent.objects.filter(subject="web", action="restart").exists()
    docker("kill", "web")
    assert ContainerSpec.objects.get(workload__name="web").exit_code == 137
    docker("start", "web")
    removed = docker("rm", "web", check=False)
    assert removed.returncode != 0 and "running" in removed.stderr
    docker("rm", "-f", "web")
    assert not Workload.objects.filter(name="web").exists()
    assert ContainerEvent.objects.filter(subject="web", action="remove").exists()


def test_refusals_print_the_daemon_error_and_create_nothing(docker):
    docker("run", "-d", "--name", "web", "-p", "8080:80", "nginx:1.27")
    same_name = docker("run", "-d", "--name", "web", "nginx:1.27", check=False)
    assert same_name.returncode != 0
    assert 'Error response from daemon: Conflict. The container name "/web" is already in use' in same_name.stderr
    port_taken = docker("run", "-d", "--name", "web2", "-p", "8080:80", "nginx:1.27", check=False)
    assert port_taken.returncode != 0
    assert "Error response from daemon: driver failed programming external connectivity" in port_taken.stderr
    assert "port is already allocated" in port_taken.stderr
    huge = docker("run", "-d", "--name", "huge", "--memory", "100t", "nginx:1.27", check=False)
    assert huge.returncode != 0 and "Error response from daemon: No capacity" in huge.stderr
    assert list(Workload.objects.values_list("name", flat=True)) == ["web"]


def test_without_a_token_the_cli_gets_401_and_nothing_is_created(live_server_url, container_host, tmp_path):
    anonymous = DockerCLI(live_server_url, container_host.name, tmp_path / "anonymous", token=None)
    result = anonymous("run", "-d", "--name", "web", "nginx:1.27", check=False)
    assert result.returncode != 0
    assert "Unauthorized" in result.stderr
    assert not Workload.objects.exists()
    assert "Unauthorized" in anonymous("ps", check=False).stderr
