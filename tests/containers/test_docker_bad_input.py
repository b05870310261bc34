"""Bad input to the Docker endpoint: every wrong JSON type in a body or a query is a Docker error body (400, naming the
field, as moby answers a bad parameter), an oversized body a JSON 413, and nothing is created on refusal."""

import json

import pytest

from containers.models import ContainerEvent, ContainerSpec
from containers.services import create
from inventory.models import Workload
from tests.containers.test_docker_api import BASE, RUN_BODY, docker, message  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


def with_host_config(**changes):
    return {**RUN_BODY, "HostConfig": {**RUN_BODY["HostConfig"], **changes}}


@pytest.mark.parametrize(
    "body, field",
    [
        ({**RUN_BODY, "HostConfig": "x"}, "HostConfig: must be a JSON object."),
        (with_host_config(RestartPolicy="always"), "HostConfig.RestartPolicy: must be a JSON object."),
        (with_host_config(RestartPolicy={"Name": 5}), "HostConfig.RestartPolicy.Name: must be a string."),
        (with_host_config(PortBindings={"80/tcp": "x"}), "HostConfig.PortBindings.80/tcp"),
        (with_host_config(PortBindings={"80/tcp": ["x"]}), "HostConfig.PortBindings.80/tcp[0]: must be a JSON object"),
        (with_host_config(PortBindings={"80/tcp": [{"HostPort": 8080}]}), "HostPort: must be a string."),
        (with_host_config(PortBindings={"80/tcp": [{"HostPort": "web"}]}), "'web' is not a port number"),
        (with_host_config(PortBindings={"http": []}), "a port key is PORT/PROTOCOL"),
        (with_host_config(PortBindings=[1]), "HostConfig.PortBindings: Expected a dictionary"),
        (with_host_config(NanoCpus="2"), "HostConfig.NanoCpus: must be an integer."),
        (with_host_config(NanoCpus=True), "HostConfig.NanoCpus: must be an integer."),
        (with_host_config(NanoCpus=0.5), "HostConfig.NanoCpus: must be an integer."),
        (with_host_config(Memory="1g"), "HostConfig.Memory: must be an integer."),
        (with_host_config(Memory=2**70), "HostConfig.Memory: Ensure this value is less than or equal to"),
        (with_host_config(CpuQuota=[5]), "HostConfig.CpuQuota: must be an integer."),
        ({**RUN_BODY, "Cmd": 5}, "Cmd: must be a string or an array of strings."),
        ({**RUN_BODY, "Cmd": ["ok", 5]}, "Cmd: must be a string or an array of strings."),
        ({**RUN_BODY, "Entrypoint": {"a": 1}}, "Entrypoint: must be a string or an array of strings."),
        ({**RUN_BODY, "Image": ["nginx"]}, "Image: must be a string."),
        ({**RUN_BODY, "Image": 5}, "Image: must be a string."),
        ({**RUN_BODY, "Env": "TZ=UTC"}, "Env: Expected a list of items"),
        ({**RUN_BODY, "Env": [1]}, "Env[0]: must be a string."),
        # Fields this endpoint does not use are still typed as moby's definitions say (the daemon refuses them too).
        ({**RUN_BODY, "Tty": "yes"}, "Tty: must be true or false."),
        ({**RUN_BODY, "Labels": {"team": 5}}, "Labels.team: must be a string."),
        ({**RUN_BODY, "ExposedPorts": {"80/tcp": "x"}}, "ExposedPorts.80/tcp: Expected a dictionary"),
        ({**RUN_BODY, "StopTimeout": "10"}, "StopTimeout: must be an integer."),
        (with_host_config(Binds="/data:/data"), "HostConfig.Binds: Expected a list of items"),
        (with_host_config(Privileged=1), "HostConfig.Privileged: must be true or false."),
        (with_host_config(LogConfig="json-file"), "HostConfig.LogConfig: Expected a dictionary"),
        (with_host_config(ConsoleSize=[24, "80"]), "HostConfig.ConsoleSize[1]: must be an integer."),
        ([RUN_BODY], "it must be a JSON object"),
        ("nginx", "it must be a JSON object"),
    ],
)
def test_a_wrong_type_in_the_create_body_is_a_400_naming_the_field_and_creates_nothing(docker, body, field):  # noqa: F811
    response = docker.post("/containers/create?name=web", body)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    assert field in message(response), message(response)
    assert not Workload.objects.exists() and not ContainerSpec.objects.exists() and not ContainerEvent.objects.exists()


def test_a_string_cmd_is_one_argument_as_dockers_strslice(docker):  # noqa: F811
    response = docker.post("/containers/create?name=web", {**RUN_BODY, "Cmd": "nginx"})
    assert response.status_code == 201, response.content
    assert ContainerSpec.objects.get(workload__name="web").command == ["nginx"]


def test_several_wrong_fields_are_all_named(docker):  # noqa: F811
    response = docker.post("/containers/create", {"Image": 1, "HostConfig": {"Memory": "x", "NanoCpus": "y"}})
    text = message(response)
    assert response.status_code == 400
    assert "Image: must be a string." in text and "HostConfig.Memory" in text and "HostConfig.NanoCpus" in text


@pytest.mark.parametrize(
    "path, filters, text",
    [
        ("/containers/json", "5", "filters: must be a JSON object"),
        ("/containers/json", "[1]", "filters: must be a JSON object"),
        ("/containers/json", '{"name": 5}', "the values of filter 'name' must be an array of strings"),
        ("/containers/json", '{"name": [5]}', "the values of filter 'name' must be an array of strings"),
        ("/containers/json", '{"name": {"web": "yes"}}', "the values of filter 'name'"),
        ("/containers/json", "{not json", "is not JSON"),
        ("/containers/json", '{"volume": ["x"]}', "invalid filter 'volume'"),
        ("/images/json", "5", "filters: must be a JSON object"),
        ("/images/json", "[1]", "filters: must be a JSON object"),
        ("/images/json", '{"reference": 5}', "the values of filter 'reference'"),
    ],
)
def test_wrong_filters_on_the_list_endpoints_are_a_400(docker, path, filters, text):  # noqa: F811
    response = docker.get(path, filters=filters)
    assert response.status_code == 400, response.content
    assert text in message(response)


def test_the_legacy_filter_form_still_works(docker):  # noqa: F811
    docker.run("web")
    names = [c["Names"] for c in docker.get("/containers/json", filters=json.dumps({"name": {"web": True}})).json()]
    assert names == [["/web"]]


@pytest.mark.parametrize(
    "path, params, text",
    [
        ("/containers/json", {"limit": "ten"}, "limit: 'ten' is not an integer."),
        ("/containers/web/logs", {"stdout": "1", "tail": "-3"}, "tail: -3 is below 0."),
        ("/containers/web/logs", {"stdout": "1", "tail": "many"}, "tail: 'many' is not an integer."),
    ],
)
def test_wrong_query_numbers_are_a_400(docker, path, params, text):  # noqa: F811
    docker.run("web")
    response = docker.get(path, **params)
    assert response.status_code == 400 and text in message(response), response.content


def test_stop_with_a_bad_timeout_is_a_400_and_stops_nothing(docker):  # noqa: F811
    ident = docker.run("web")
    response = docker.post(f"/containers/{ident}/stop?t=soon")
    assert response.status_code == 400 and "t: 'soon' is not an integer." in message(response)
    assert Workload.objects.get(name="web").power_state == "on"


def test_an_oversized_body_is_a_json_413_and_creates_nothing(docker, settings):  # noqa: F811
    body = {**RUN_BODY, "Env": ["X=" + "a" * (5 * 2**20)]}
    response = docker.post("/containers/create?name=web", body)
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert "request body too large" in message(response) and f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,}" in message(
        response
    )
    assert not Workload.objects.exists()


def test_an_unforeseen_parse_error_is_a_400_and_rolls_back_what_was_written(docker, monkeypatch):  # noqa: F811
    """The catch-all: a value the shapes let through that a service cannot read is the request's fault (400), and
    the view's transaction leaves nothing behind."""
    real = create.container_create

    def create_then_trip(**kwargs):
        real(**kwargs)  # the container-VM is written ...
        raise ValueError("could not read the value")  # ... and then something below fails to parse

    monkeypatch.setattr(create, "container_create", create_then_trip)
    response = docker.post("/containers/create?name=web", RUN_BODY)
    assert response.status_code == 400 and "could not read the value" in message(response)
    assert not Workload.objects.exists() and not ContainerEvent.objects.exists()


def test_unimplemented_operations_are_a_docker_404_not_a_server_error(docker):  # noqa: F811
    for path in ("/volumes", "/networks/create", "/containers/web/exec", "/build", "/volumes/", "/v9/x\ny"):
        response = docker.post(path, {"x": 1})
        assert response.status_code == 404 and message(response) == "page not found"
    assert docker.client.get(f"{BASE}/", headers=docker.headers).json() == {"message": "page not found"}


def test_odd_characters_in_a_name_are_a_docker_404(docker):  # noqa: F811
    for path in ("/images/%0A/json", "/images/a%0Ab/json", "/containers/a%0A/json", "/images/x/json/"):
        response = docker.get(path)
        assert response.status_code == 404 and response["Content-Type"] == "application/json", path


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/containers/web/rename?name=a%00b"),
        ("get", "/containers/json?filters=%7B%22name%22%3A%5B%22a%00%22%5D%7D"),
        ("get", "/containers/a%00b/json"),
    ],
)
def test_a_nul_byte_in_a_parameter_is_a_400_not_a_database_error(docker, method, path):  # noqa: F811
    """PostgreSQL text cannot hold NUL: the endpoint refuses it as bad input before the database sees it."""
    docker.run("web")
    response = getattr(docker, method)(path)
    assert response.status_code == 400, response.content
    assert "NUL byte" in message(response)
    assert Workload.objects.filter(name="web").exists()


def test_a_nul_byte_in_a_json_string_is_a_400_and_creates_nothing(docker):  # noqa: F811
    response = docker.post("/containers/create?name=web", {**RUN_BODY, "Image": "nginx\u0000:latest"})
    assert response.status_code in (400, 404), response.content
    assert not Workload.objects.exists() and not ContainerSpec.objects.exists()
