"""Schemathesis against the Docker Engine API's own description (moby's v1.50 swagger, tests/fixtures), restricted to
the operations a container host implements, in positive and negative modes: no server error, ever, and every
refusal is a Docker error body `{"message": ...}` (what the docker CLI prints).

The app runs in-process through Django's WSGI handler as an operator with an API token. Path parameters that name a
container or an image are drawn partly from ones that exist, so the fuzzer reaches past "No such container".
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from containers.services.create import container_create

SPEC = Path(__file__).resolve().parent.parent / "fixtures" / "docker-engine-api-v1.50.yaml"
BASE_URL = "http://testserver/docker/ca-docker/v1.50"
MAX_EXAMPLES = int(os.environ.get("DOCKER_FUZZ_EXAMPLES", "25"))

# The operations a container host speaks (containers/docker_api/urls.py); every other one answers 404 JSON.
IMPLEMENTED = [
    "SystemPing", "SystemPingHead", "SystemVersion", "SystemInfo",
    "ImageCreate", "ImageList", "ImageInspect",
    "ContainerList", "ContainerCreate", "ContainerInspect", "ContainerStart", "ContainerStop", "ContainerRestart",
    "ContainerKill", "ContainerRename", "ContainerLogs", "ContainerWait", "ContainerDelete",
]  # fmt: skip


def docker_error_body(ctx, response, case) -> bool | None:
    """A refusal (4xx/5xx) carries Docker's error body: a JSON object with a string `message`."""
    if response.status_code < 400 or case.method.upper() == "HEAD":
        return None
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"], (
        f"{response.status_code} without a Docker error body: {response.content[:300]!r}"
    )
    return True


@pytest.fixture
def docker_schema(container_host, operator, keep_test_connection):
    schema = schemathesis.openapi.from_path(SPEC).include(operation_id=IMPLEMENTED)
    schema.app = WSGIHandler()
    return schema


@pytest.fixture
def keep_test_connection():
    """As Django's test client does: requests must not close the test's database connection."""
    from django.core import signals
    from django.db import close_old_connections

    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


def fuzz(schema, mode: GenerationMode, auth: dict, refs: dict[str, list[str]]) -> dict:
    """Runs every operation; returns {"operations", "sent", "statuses", "failures", "no_negative"}."""
    out = {"operations": 0, "sent": 0, "statuses": Counter(), "failures": {}, "no_negative": []}
    for result in schema.get_all_operations():
        operation = result.ok()
        out["operations"] += 1
        names = {p.name for p in operation.path_parameters}
        strategy = operation.as_strategy(generation_mode=mode)
        if names & {"id", "name"}:
            # Also containers and images that exist, so the fuzzer reaches past "No such container".
            name = "id" if "id" in names else "name"
            known = [operation.as_strategy(generation_mode=mode, path_parameters={name: ref}) for ref in refs[name]]
            strategy = st.one_of(strategy, *known)

        @given(case=strategy)
        @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def run(case):
            out["sent"] += 1
            response = case.call(base_url=BASE_URL, headers=auth)
            out["statuses"][response.status_code // 100 * 100] += 1
            case.validate_response(response, checks=[not_a_server_error, docker_error_body])

        try:
            run()
        except Unsatisfiable:
            # Negative mode of an operation without parameters or body (ping, version, info): nothing to break.
            out["no_negative"].append(operation.label)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect every operation's failure
            out["failures"][operation.label] = str(exc)[:1500]
    return out


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"])
def test_docker_endpoint_never_answers_a_server_error(docker_schema, operator, container_host, mode):
    auth = {"Authorization": f"Token {Token.objects.create(user=operator).key}"}
    workload = container_create(
        container_host=container_host, name="fuzzed", image_ref="nginx:1.27", start=True, user=operator
    )
    refs = {"id": [workload.name], "name": ["nginx:1.27", "redis"]}
    out = fuzz(docker_schema, mode, auth, refs)
    print(f"\n{mode.value}: {out['operations']} operations, {out['sent']} requests {dict(out['statuses'])}")
    assert out["operations"] == len(IMPLEMENTED)
    assert not out["failures"], "\n\n".join(f"{label}:\n{text}" for label, text in out["failures"].items())
    assert out["sent"] >= (10 if mode == GenerationMode.NEGATIVE else 15) * len(IMPLEMENTED) * 0.8
    if mode == GenerationMode.NEGATIVE:
        assert set(out["no_negative"]) <= {"GET /_ping", "HEAD /_ping", "GET /version", "GET /info"}


def test_the_operations_not_implemented_answer_a_docker_error_body_never_a_server_error(
    container_host, operator, keep_test_connection
):
    """Every other operation of the Docker Engine API (exec, build, volumes, networks, swarm, ...): a Docker 404 body
    (the CLI prints it), never a server error or Django's HTML page."""
    auth = {"Authorization": f"Token {Token.objects.create(user=operator).key}"}
    # ImageLoad and PluginCreate take only a tar stream, which schemathesis cannot generate.
    schema = schemathesis.openapi.from_path(SPEC).exclude(operation_id=[*IMPLEMENTED, "ImageLoad", "PluginCreate"])
    schema.app = WSGIHandler()
    failures, operations, statuses = {}, 0, Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=2, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def run(case):
            response = case.call(base_url=BASE_URL, headers=auth)
            statuses[response.status_code] += 1
            case.validate_response(response, checks=[not_a_server_error, docker_error_body])

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - collect every operation's failure
            failures[operation.label] = str(exc)[:800]
    print(f"\nnot implemented: {operations} operations, statuses {dict(statuses)}")
    assert operations >= 80
    assert not failures, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
    assert set(statuses) <= {404, 405}  # 405: e.g. POST /containers/prune meets the DELETE /containers/{id} route
