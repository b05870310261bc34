"""The Docker Engine API of a container host, through Django's test client: each endpoint, each refusal as a Docker
error body, token authentication and roles, the log framing and the pull stream."""

import json
import warnings

import pytest
from rest_framework.authtoken.models import Token

from containers.docker_api.serializers import container_id
from containers.docker_api.streams import demultiplex, frame, layers_of, multiplex
from containers.models import ContainerEvent, ContainerSpec, Image
from hybridcloud.core.units import GIB
from inventory.choices import PowerState
from inventory.models import Workload

BASE = "/docker/ca-docker"

RUN_BODY = {
    "Image": "nginx:1.27",
    "Cmd": ["nginx", "-g", "daemon off;"],
    "Env": ["TZ=UTC", "MODE=prod"],
    "ExposedPorts": {"80/tcp": {}},
    "HostConfig": {
        "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]},
        "NanoCpus": 500_000_000,
        "Memory": GIB,
        "RestartPolicy": {"Name": "no"},
    },
}


@pytest.fixture
def docker(client, operator, container_host):
    return DockerClient(client, Token.objects.create(user=operator).key)


@pytest.fixture
def viewer_docker(client, viewer, container_host):
    return DockerClient(client, Token.objects.create(user=viewer).key)


class DockerClient:
    """The test client with the token header the docker CLI sends, and a version prefix like the CLI's."""

    def __init__(self, client, key, prefix="/v1.47"):
        self.client, self.headers, self.prefix = client, {"Authorization": f"Token {key}"}, prefix

    def url(self, path):
        return f"{BASE}{self.prefix}{path}"

    def get(self, path, **params):
        return self.client.get(self.url(path), params, headers=self.headers)

    def head(self, path):
        return self.client.head(self.url(path), headers=self.headers)

    def post(self, path, body=None):
        return self.client.post(
            self.url(path), json.dumps(body) if body is not None else "", content_type="application/json",
            headers=self.headers,
        )  # fmt: skip

    def delete(self, path):
        return self.client.delete(self.url(path), headers=self.headers)

    def run(self, name="web", body=None):
        created = self.post(f"/containers/create?name={name}", body or RUN_BODY)
        assert created.status_code == 201, created.content
        started = self.post(f"/containers/{created.json()['Id']}/start")
        assert started.status_code == 204, started.content
        return created.json()["Id"]


def message(response) -> str:
    return response.json()["message"]


# -- system ---------------------------------------------------------------------------------------------------------


def test_ping_answers_ok_with_version_headers(docker):
    for response in (docker.get("/_ping"), docker.head("/_ping")):
        assert response.status_code == 200
        assert response["API-Version"] == "1.47"
        assert response["Ostype"] == "linux" and response["OSType"] == "linux"
        assert response["Docker-Experimental"] == "false"
    assert docker.get("/_ping").content == b"OK"


def test_unversioned_ping_offers_the_highest_supported_version(docker):
    docker.prefix = ""
    assert docker.get("/_ping")["API-Version"] == "1.50"


def test_versions_outside_the_supported_range_are_refused(docker):
    docker.prefix = "/v1.40"
    response = docker.get("/version")
    assert response.status_code == 400 and "Minimum supported API version is 1.41" in message(response)
    docker.prefix = "/v1.99"
    assert "Maximum supported API version is 1.50" in message(docker.get("/version"))


def test_version_names_the_engine_and_api_range(docker):
    data = docker.get("/version").json()
    assert data["ApiVersion"] == "1.50" and data["MinAPIVersion"] == "1.41"
    assert data["Components"][0]["Name"] == "Engine" and data["Os"] == "linux"


def test_info_reports_the_container_hosts_capacity_and_counts(docker):
    docker.run("web")
    docker.post("/containers/create?name=idle", {"Image": "redis:7.4"})
    data = docker.get("/info").json()
    assert data["Name"] == "ca-docker" and data["OperatingSystem"] == "HybridCloud container host"
    assert data["NCPU"] == 16 and data["MemTotal"] == 64 * GIB
    assert (data["Containers"], data["ContainersRunning"], data["ContainersStopped"]) == (2, 1, 1)
    assert data["Images"] == 3


def test_unknown_container_host_is_a_docker_404(docker):
    response = docker.client.get("/docker/nope/v1.47/info", headers=docker.headers)
    assert response.status_code == 404 and message(response) == "No such container host: nope"


def test_unknown_path_is_docker_page_not_found(docker):
    response = docker.get("/plugins")
    assert response.status_code == 404 and message(response) == "page not found"


# -- authentication and roles --------------------------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Token wrong"}, {"Authorization": "Basic dXNlcjpwdw=="}])
def test_without_a_valid_token_every_call_is_401_and_creates_nothing(client, container_host, headers):
    for method, path in [("get", "/_ping"), ("get", "/v1.47/containers/json"), ("post", "/v1.47/containers/create")]:
        response = getattr(client, method)(BASE + path, headers=headers)
        assert response.status_code == 401, path
        assert "Unauthorized" in message(response) and "Authorization" in message(response)
    assert not Workload.objects.exists()


def test_a_session_login_is_not_a_token(operator_client, container_host):
    response = operator_client.post(
        BASE + "/v1.47/containers/create?name=web", RUN_BODY, content_type="application/json"
    )
    assert response.status_code == 401
    assert not Workload.objects.filter(name="web").exists()


def test_token_of_an_inactive_user_is_refused(docker, operator):
    operator.is_active = False
    operator.save()
    assert docker.get("/_ping").status_code == 401


def test_viewers_list_and_inspect_but_may_not_change(docker, viewer_docker):
    ident = docker.run("web")
    assert viewer_docker.get("/containers/json").status_code == 200
    assert viewer_docker.get(f"/containers/{ident}/json").status_code == 200
    for path in ("/containers/create?name=other", f"/containers/{ident}/stop", "/images/create?fromImage=alpine"):
        response = viewer_docker.post(path, RUN_BODY)
        assert response.status_code == 403, path
        assert "only operators" in message(response)
    assert viewer_docker.delete(f"/containers/{ident}?force=1").status_code == 403
    assert list(Workload.objects.values_list("name", "power_state")) == [("web", PowerState.ON)]


# -- create, start, list, inspect ---------------------------------------------------------------------------------


def test_create_makes_a_created_container_vm_through_the_services(docker, operator):
    response = docker.post("/containers/create?name=web", RUN_BODY)
    assert response.status_code == 201
    data = response.json()
    assert len(data["Id"]) == 64 and data["Warnings"] == []
    workload = Workload.objects.get(name="web")
    spec = workload.container
    assert workload.kind == "container_vm" and workload.power_state == PowerState.OFF and spec.state == "created"
    assert workload.memory_bytes == GIB and str(spec.cpus) == "0.50" and workload.ip_address == "10.10.0.2"
    assert spec.environment == {"TZ": "UTC", "MODE": "prod"} and spec.command == ["nginx", "-g", "daemon off;"]
    assert spec.ports == [{"host_port": 8080, "container_port": 80, "protocol": "tcp"}]
    assert container_id(spec) == data["Id"]
    assert ContainerEvent.objects.filter(workload=workload, action="create", user=operator).exists()


def test_start_runs_it_and_ps_lists_it_docker_style(docker):
    ident = docker.run("web")
    assert Workload.objects.get(name="web").power_state == PowerState.ON
    [item] = docker.get("/containers/json").json()
    assert item["Id"] == ident and item["Names"] == ["/web"] and item["Image"] == "nginx:1.27"
    assert item["State"] == "running" and item["Status"].startswith("Up ")
    assert item["Ports"] == [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"}]
    assert item["Command"] == "nginx -g daemon off;"


def test_ps_hides_stopped_ones_unless_all_and_filters_by_name(docker):
    docker.run("web")
    docker.post("/containers/create?name=cache", {"Image": "redis:7.4"})
    assert [c["Names"] for c in docker.get("/containers/json").json()] == [["/web"]]
    everything = docker.get("/containers/json", all="1").json()
    assert {c["Names"][0]: c["State"] for c in everything} == {"/web": "running", "/cache": "created"}
    filtered = docker.get("/containers/json", all="1", filters=json.dumps({"name": ["cache"]})).json()
    assert [c["Names"] for c in filtered] == [["/cache"]]
    old_style = docker.get("/containers/json", all="1", filters=json.dumps({"name": {"web": True}})).json()
    assert [c["Names"] for c in old_style] == [["/web"]]
    assert message(docker.get("/containers/json", filters=json.dumps({"volume": ["x"]}))) == "invalid filter 'volume'"


def test_inspect_by_name_full_id_or_short_prefix(docker):
    ident = docker.run("web")
    for ref in ("web", ident, ident[:12], ident[:4]):
        data = docker.get(f"/containers/{ref}/json").json()
        assert data["Id"] == ident and data["Name"] == "/web"
    data = docker.get("/containers/web/json").json()
    assert data["State"]["Status"] == "running" and data["State"]["Running"] is True
    assert data["Config"]["Image"] == "nginx:1.27" and data["Config"]["Env"] == ["TZ=UTC", "MODE=prod"]
    assert data["Config"]["Cmd"] == ["nginx", "-g", "daemon off;"] and data["Config"]["Tty"] is False
    assert data["NetworkSettings"]["IPAddress"] == "10.10.0.2"
    assert data["NetworkSettings"]["Ports"] == {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}
    assert data["HostConfig"]["Memory"] == GIB and data["HostConfig"]["NanoCpus"] == 500_000_000
    assert data["HybridCloud"]["Kind"] == "container_vm" and data["HybridCloud"]["Site"] == "California DC"


def test_container_ids_are_stable(docker):
    ident = docker.run("web")
    assert docker.get("/containers/web/json").json()["Id"] == ident
    assert container_id(ContainerSpec.objects.get(workload__name="web")) == ident


def test_unknown_container_is_404(docker):
    response = docker.get("/containers/nothing/json")
    assert response.status_code == 404 and message(response) == "No such container: nothing"


def test_empty_host_port_gets_an_ephemeral_port(docker):
    body = {"Image": "nginx:1.27", "HostConfig": {"PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": ""}]}}}
    docker.run("web", body)
    assert ContainerSpec.objects.get(workload__name="web").ports[0]["host_port"] == 32768


# -- refusals ------------------------------------------------------------------------------------------------------


def test_a_second_container_with_the_same_name_is_a_409_conflict(docker):
    ident = docker.run("web")
    response = docker.post("/containers/create?name=web", RUN_BODY)
    assert response.status_code == 409
    assert message(response) == (
        f'Conflict. The container name "/web" is already in use by container "{ident}". You have to remove (or '
        "rename) that container to be able to reuse that name."
    )
    assert Workload.objects.count() == 1


def test_a_published_port_already_taken_is_refused_like_docker(docker):
    docker.run("web")
    response = docker.post("/containers/create?name=web2", RUN_BODY)
    assert response.status_code == 500
    assert message(response).startswith("driver failed programming external connectivity on endpoint web2: ")
    assert "8080" in message(response) and "port is already allocated" in message(response)
    assert not Workload.objects.filter(name="web2").exists()


def test_an_unknown_image_is_404_no_such_image(docker):
    response = docker.post("/containers/create?name=web", {**RUN_BODY, "Image": "nginx:9.9"})
    assert response.status_code == 404 and message(response) == "No such image: nginx:9.9"
    assert not Workload.objects.exists()


@pytest.mark.parametrize(
    "host_config, status, text",
    [
        ({"Memory": 100 * 2**40}, 409, "No capacity for container web"),
        ({"Memory": 1024}, 400, "Minimum memory limit allowed is 6MB"),
        ({"Memory": -5}, 400, "HostConfig.Memory: Ensure this value is greater than or equal to 0."),
        ({"NanoCpus": 64_000_000_000}, 409, "No capacity"),
    ],
)
def test_impossible_memory_or_cpu_is_refused_and_creates_nothing(docker, host_config, status, text):
    response = docker.post("/containers/create?name=web", {"Image": "nginx:1.27", "HostConfig": host_config})
    assert response.status_code == status, response.content
    assert text in message(response)
    assert not Workload.objects.exists()


def test_starting_beyond_the_container_hosts_limits_is_refused(docker):
    big = {"Image": "redis:7.4", "HostConfig": {"Memory": 40 * GIB}}
    docker.run("one", big)
    ident = docker.post("/containers/create?name=two", big).json()["Id"]
    response = docker.post(f"/containers/{ident}/start")
    assert response.status_code == 409 and "No capacity on container host ca-docker" in message(response)
    assert Workload.objects.get(name="two").power_state == PowerState.OFF


def test_bad_json_body_is_400(docker):
    response = docker.client.post(docker.url("/containers/create"), "{nope", content_type="application/json",
                                  headers=docker.headers)  # fmt: skip
    assert response.status_code == 400 and "invalid JSON" in message(response)


# -- lifecycle -----------------------------------------------------------------------------------------------------


def test_stop_start_restart_kill_change_the_workload_and_answer_304_when_already_there(docker):
    ident = docker.run("web")
    assert docker.post("/containers/web/start").status_code == 304
    assert docker.post(f"/containers/{ident[:12]}/stop?t=10").status_code == 204
    assert Workload.objects.get(name="web").power_state == PowerState.OFF
    assert docker.post("/containers/web/stop").status_code == 304
    killed = docker.post("/containers/web/kill")
    assert killed.status_code == 409 and "is not running" in message(killed)
    assert docker.post("/containers/web/start").status_code == 204
    assert docker.post("/containers/web/restart").status_code == 204
    assert docker.post("/containers/web/kill").status_code == 204
    spec = ContainerSpec.objects.get(workload__name="web")
    assert spec.state == "exited" and spec.exit_code == 137
    assert docker.get("/containers/json", all="1").json()[0]["Status"].startswith("Exited (137)")
    actions = list(ContainerEvent.objects.filter(subject="web").order_by("at", "pk").values_list("action", flat=True))
    assert actions == ["create", "start", "stop", "start", "restart", "stop"]


def test_rm_refuses_a_running_container_unless_forced(docker):
    docker.run("web")
    refused = docker.delete("/containers/web")
    assert refused.status_code == 409 and "running" in message(refused)
    assert Workload.objects.filter(name="web").exists()
    assert docker.delete("/containers/web?force=1&v=0").status_code == 204
    assert not Workload.objects.filter(name="web").exists()
    assert docker.get("/containers/web/json").status_code == 404


def test_rename_renames_the_workload_and_keeps_the_id(docker, operator):
    ident = docker.run("web")
    docker.run("api", {"Image": "redis:7.4"})
    assert docker.post("/containers/web/rename?name=frontend").status_code == 204
    assert docker.get("/containers/frontend/json").json()["Id"] == ident
    assert Workload.objects.filter(name="frontend").exists() and not Workload.objects.filter(name="web").exists()
    assert ContainerEvent.objects.filter(subject="frontend", action="rename", message="Renamed from web").exists()
    clash = docker.post("/containers/frontend/rename?name=api")
    assert clash.status_code == 409 and 'The container name "/api" is already in use' in message(clash)
    assert docker.post("/containers/frontend/rename?name=-bad").status_code == 400


def test_logs_are_the_event_log_in_docker_multiplexed_framing(docker):
    docker.run("web")
    docker.post("/containers/web/stop")
    response = docker.get("/containers/web/logs", stdout="1", stderr="1")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.docker.multiplexed-stream"
    body = response.content
    assert body[:4] == b"\x01\x00\x00\x00"  # stdout, three zero bytes
    first_size = int.from_bytes(body[4:8], "big")
    assert body[8 : 8 + first_size].startswith(b"Created: Created from nginx:1.27 on host ca-esx-")
    frames = demultiplex(body)
    assert [stream for stream, _ in frames] == [1, 1, 1]
    assert [payload.split(b":")[0] for _, payload in frames] == [b"Created", b"Started", b"Stopped"]
    assert all(payload.endswith(b" (by otto)\n") for _, payload in frames)
    tail = demultiplex(docker.get("/containers/web/logs", stdout="1", tail="1", timestamps="1").content)
    assert len(tail) == 1 and tail[0][1][:4].isdigit() and b"Stopped (exit code 0)" in tail[0][1]
    assert docker.get("/containers/web/logs").status_code == 400  # neither stream asked for


def test_frame_header_is_stream_then_big_endian_size():
    assert frame(2, b"oops\n") == b"\x02\x00\x00\x00\x00\x00\x00\x05oops\n"
    assert demultiplex(multiplex([(1, "a"), (2, "bc")])) == [(1, b"a\n"), (2, b"bc\n")]


# -- images --------------------------------------------------------------------------------------------------------


def _stream(response) -> list[dict]:
    """The test client is WSGI: it collects the async stream Daphne sends as it goes."""
    warnings.filterwarnings("ignore", "StreamingHttpResponse must consume asynchronous iterators")
    return [json.loads(line) for line in b"".join(response).decode().splitlines() if line.strip()]


@pytest.fixture
def fast_pull(monkeypatch):
    monkeypatch.setattr("containers.docker_api.streams.PULL_SECONDS", 0)


def test_pull_streams_docker_progress_and_adds_the_image(docker, fast_pull):
    response = docker.post("/images/create?fromImage=alpine&tag=3.20")
    assert response.status_code == 200 and response.streaming
    messages = _stream(response)
    image = Image.objects.get(repository="alpine", tag="3.20")
    layers = layers_of(image.digest, image.size_bytes)
    assert messages[0] == {"status": "Pulling from library/alpine", "id": "3.20"}
    assert [m["id"] for m in messages if m["status"] == "Pulling fs layer"] == [layer.id for layer in layers]
    downloading = [m for m in messages if m["status"] == "Downloading" and m["id"] == layers[0].id]
    assert [m["progressDetail"]["total"] for m in downloading] == [layers[0].size] * len(downloading)
    currents = [m["progressDetail"]["current"] for m in downloading]
    assert currents == sorted(currents) and currents[-1] < layers[0].size
    assert downloading[0]["progress"].startswith("[") and "/" in downloading[0]["progress"]
    assert [m["id"] for m in messages if m["status"] == "Pull complete"] == [layer.id for layer in layers]
    assert sum(layer.size for layer in layers) == image.size_bytes
    assert messages[-2] == {"status": f"Digest: {image.digest}"}
    assert messages[-1] == {"status": "Status: Downloaded newer image for alpine:3.20"}


def test_pulling_a_present_image_says_it_is_up_to_date(docker, fast_pull):
    messages = _stream(docker.post("/images/create?fromImage=nginx&tag=1.27"))
    assert messages[-1] == {"status": "Status: Image is up to date for nginx:1.27"}
    assert Image.objects.filter(repository="nginx").count() == 1


def test_pull_of_a_malformed_reference_is_400(docker):
    response = docker.post("/images/create?fromImage=Not_Valid!&tag=latest")
    assert response.status_code == 400 and "invalid reference format" in message(response)


def test_images_lists_and_inspects_pulled_images(docker):
    listed = docker.get("/images/json").json()
    assert sorted(tag for i in listed for tag in i["RepoTags"]) == ["nginx:1.27", "postgres:16", "redis:7.4"]
    nginx = Image.objects.get(repository="nginx")
    assert {i["Id"] for i in listed} >= {nginx.digest}
    data = docker.get("/images/nginx:1.27/json").json()
    assert data["Id"] == nginx.digest and data["Size"] == nginx.size_bytes and data["Os"] == "linux"
    missing = docker.get("/images/nginx:9.9/json")
    assert missing.status_code == 404 and message(missing) == "No such image: nginx:9.9"
    only = docker.get("/images/json", filters=json.dumps({"reference": {"redis": True}})).json()
    assert [i["RepoTags"] for i in only] == [["redis:7.4"]]


# -- the token page ------------------------------------------------------------------------------------------------


def test_token_page_creates_and_shows_the_users_token_and_the_cli_command(viewer_client, viewer, container_host):
    page = viewer_client.get("/docker/ca-docker/token/")
    assert page.status_code == 200 and "You have no API token yet" in page.content.decode()
    assert viewer_client.post("/docker/ca-docker/token/").status_code == 302
    key = Token.objects.get(user=viewer).key
    text = viewer_client.get("/docker/ca-docker/token/").content.decode()
    assert key in text and "docker -H tcp://testserver/docker/ca-docker" in text
    assert '{"HttpHeaders": {"Authorization": "Token ' + key + '"}}' in text


def test_token_page_needs_a_login(client, container_host):
    response = client.get("/docker/ca-docker/token/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_container_host_page_shows_the_docker_command_and_config_snippet(viewer_client, container_host):
    text = viewer_client.get("/containers/hosts/ca-docker/").content.decode()
    assert "docker -H tcp://testserver/docker/ca-docker run -d --name web -p 8080:80 nginx:1.27" in text
    assert '{"HttpHeaders": {"Authorization": "Token &lt;your-token&gt;"}}' in text
    assert 'href="/docker/ca-docker/token/"' in text
