"""Plain Django views speaking the Docker Engine HTTP API for one container host. Every write goes through
containers.services (placement, capacity, addresses, events); `endpoint.docker_endpoint` turns refusals into Docker
error bodies {"message": ...} so the CLI prints "Error response from daemon: ...".

Images: a pull goes through images.image_pull, which simulates any well-formed reference (its digest and size
follow from the name). So `docker run` of an image that is not pulled yet gets 404 "No such image" from create,
pulls it (as the real CLI does) and then creates; a malformed reference is refused.
"""

from __future__ import annotations

import fnmatch
import re

from django.contrib.auth.decorators import login_not_required
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from containers import selectors
from containers.choices import ContainerState, RestartPolicy
from containers.docker_api import params, streams
from containers.docker_api import serializers as shapes
from containers.docker_api.auth import may_change, token_for
from containers.docker_api.endpoint import docker_endpoint, docker_headers, error
from containers.docker_api.parsing import parse_image_ref
from containers.models import ContainerEvent, ContainerHost, ContainerSpec, Image, PublishedPort
from containers.services import create, images, lifecycle
from containers.services.refusals import ContainerRefused
from inventory.choices import PowerState

EPHEMERAL_PORTS = range(32768, 61000)


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


# -- lookups ------------------------------------------------------------------------------------------------------


def _find_container(container_host: ContainerHost, ref: str) -> ContainerSpec:
    """By full id, name (with or without its leading slash) or id prefix, as Docker resolves a container."""
    ref = ref.strip()
    specs = list(selectors.containers_of_host(container_host))
    by_name = [s for s in specs if s.workload.name == ref.lstrip("/")]
    if by_name:
        return by_name[0]
    if re.fullmatch(r"[0-9a-f]{1,64}", ref):
        matches = [s for s in specs if shapes.container_id(s).startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise ContainerRefused(f"multiple IDs found with provided prefix: {ref}", code="bad_value")
    raise ContainerRefused(f"No such container: {ref}", code="not_found")


# -- system -------------------------------------------------------------------------------------------------------


@docker_endpoint("GET")
def ping(request: HttpRequest, container_host: ContainerHost) -> HttpResponse:
    response = HttpResponse(b"" if request.method == "HEAD" else b"OK", content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-cache, no-store, must-revalidate"
    response["Pragma"] = "no-cache"
    response["Swarm"] = "inactive"
    return response


@docker_endpoint("GET")
def version(request: HttpRequest, container_host: ContainerHost) -> JsonResponse:
    return JsonResponse(shapes.version(shapes.MAX_API_VERSION))


@docker_endpoint("GET")
def info(request: HttpRequest, container_host: ContainerHost) -> JsonResponse:
    on = Q(workload__power_state=PowerState.ON)
    counts = ContainerSpec.objects.filter(container_host=container_host).aggregate(
        running=Count("pk", filter=on),
        created=Count("pk", filter=~on & Q(state=ContainerState.CREATED)),
        exited=Count("pk", filter=~on & ~Q(state=ContainerState.CREATED)),
    )
    return JsonResponse(shapes.info(container_host, counts=counts, images=Image.objects.count()))


# -- images -------------------------------------------------------------------------------------------------------


@docker_endpoint("POST", write=True)
def image_create(request: HttpRequest, container_host: ContainerHost) -> HttpResponse:
    """docker pull: a simulated transfer drawn as Docker's JSON progress stream."""
    if request.GET.get("fromSrc"):
        return error("Bad parameter fromSrc: importing an image from a tarball is not supported; pull it by name.", 400)
    from_image, tag = request.GET.get("fromImage", ""), request.GET.get("tag", "")
    if not from_image:
        return error("fromImage is required: the image to pull, e.g. nginx", 400)
    repository, tag, _ = parse_image_ref(f"{from_image}:{tag}" if tag else from_image)
    already_present = Image.objects.filter(repository=repository, tag=tag).exists()
    image = images.image_pull(repository=repository, tag=tag)
    messages = streams.pull_messages(
        repository=image.repository,
        tag=image.tag,
        digest=image.digest,
        size_bytes=image.size_bytes,
        already_present=already_present,
    )
    return StreamingHttpResponse(streams.json_stream(messages), content_type="application/json")


@docker_endpoint("GET", query=params.ImageListQuery)
def image_list(request: HttpRequest, container_host: ContainerHost, query: dict) -> JsonResponse:
    filters = query.get("filters") or {}
    images = list(Image.objects.order_by("-pulled_at", "repository", "tag"))
    for pattern in filters.get("reference", []):
        images = [i for i in images if fnmatch.fnmatch(i.reference, pattern) or fnmatch.fnmatch(i.repository, pattern)]
    if any(_truthy(v) for v in filters.get("dangling", [])):
        images = []  # every image here has a tag
    return JsonResponse([shapes.image_summary(i) for i in images], safe=False)


@docker_endpoint("GET")
def image_inspect(request: HttpRequest, container_host: ContainerHost, name: str) -> JsonResponse:
    return JsonResponse(shapes.image_inspect(images.image_resolve(name)))


# -- containers ---------------------------------------------------------------------------------------------------


@docker_endpoint("GET", query=params.ContainerListQuery)
def container_list(request: HttpRequest, container_host: ContainerHost, query: dict) -> JsonResponse:
    """docker ps [-a] [--filter name=...]: running ones only unless all=1; newest first."""
    filters = query.get("filters") or {}
    specs = list(selectors.containers_of_host(container_host).order_by("-created_at", "-pk"))
    items = [shapes.container_summary(s) for s in specs]
    if not _truthy(request.GET.get("all")):
        items = [i for i in items if i["State"] == ContainerState.RUNNING]
    for pattern in filters.get("name", []):
        items = [i for i in items if _name_matches(pattern, i["Names"][0])]
    if filters.get("id"):
        items = [i for i in items if any(i["Id"].startswith(v) for v in filters["id"])]
    if filters.get("status"):
        items = [i for i in items if i["State"] in filters["status"]]
    if filters.get("ancestor"):
        wanted = set()
        for ref in filters["ancestor"]:
            repository, tag, _ = parse_image_ref(ref)
            wanted.add(f"{repository}:{tag}")
        items = [i for i in items if i["Image"] in wanted or i["ImageID"] in filters["ancestor"]]
    limit = query.get("limit")
    if limit is not None and limit > 0:
        items = items[:limit]
    return JsonResponse(items, safe=False)


def _name_matches(pattern: str, name: str) -> bool:
    try:
        return re.search(pattern, name) is not None
    except re.error:
        return pattern in name


def _port_mappings(container_host: ContainerHost, bindings: dict) -> list[dict]:
    """HostConfig.PortBindings {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]} (shape checked by
    params.PortBindings) → service port mappings; an empty HostPort gets the next free ephemeral port on the
    container host, as Docker does."""
    taken = set(PublishedPort.objects.filter(container_host=container_host).values_list("host_port", flat=True))
    mappings = []
    for key, entries in bindings.items():
        container_port, _, protocol = str(key).partition("/")
        for entry in entries or [{}]:
            host_port = str((entry or {}).get("HostPort") or "")
            if not host_port:
                host_port = str(next(p for p in EPHEMERAL_PORTS if p not in taken))
            if "-" in host_port:
                host_port = host_port.split("-", 1)[0]
            taken.add(int(host_port) if host_port.isdigit() else 0)
            mappings.append(f"{host_port}:{container_port}/{protocol or 'tcp'}")
    return mappings


def _cpus(host_config: dict) -> str | None:
    nano = host_config.get("NanoCpus") or 0
    if nano:
        return str(nano / 1_000_000_000)
    quota, period = host_config.get("CpuQuota") or 0, host_config.get("CpuPeriod") or 0
    if quota > 0 and period > 0:
        return str(quota / period)
    return None


@docker_endpoint("POST", write=True, body=params.ContainerCreateBody)
def container_create(request: HttpRequest, container_host: ContainerHost, body: dict) -> JsonResponse:
    """docker create / the first half of docker run: a container-VM created (not started) by container_create."""
    name = request.GET.get("name", "").lstrip("/")
    image_ref = body.get("Image") or ""
    if not image_ref:
        return error("No command specified and no image given: config.Image is required.", 400)
    if name:
        existing = ContainerSpec.objects.filter(workload__name=name).first()
        if existing is not None:
            return error(
                f'Conflict. The container name "/{name}" is already in use by container '
                f'"{shapes.container_id(existing)}". You have to remove (or rename) that container to be able to '
                "reuse that name.",
                409,
            )
    host_config = body.get("HostConfig") or {}
    command = list(body.get("Entrypoint") or []) + list(body.get("Cmd") or [])
    restart_policy = ((host_config.get("RestartPolicy") or {}).get("Name") or RestartPolicy.NO).lower()
    if restart_policy not in RestartPolicy.values:
        return error(f"invalid restart policy '{restart_policy}'", 400)
    memory = host_config.get("Memory") or None
    try:
        workload = create.container_create(
            container_host=container_host,
            name=name,
            image_ref=image_ref,
            command=command,
            env=body.get("Env") or [],
            ports=_port_mappings(container_host, host_config.get("PortBindings") or {}),
            cpus=_cpus(host_config),
            memory_bytes=memory,
            restart_policy=restart_policy,
            start=False,
            user=request.user,
        )
    except ContainerRefused as exc:
        if exc.code == "port_in_use":
            return error(
                f"driver failed programming external connectivity on endpoint {name or 'container'}: "
                f"{' '.join(exc.messages)}",
                500,
            )
        raise
    spec = ContainerSpec.objects.get(workload=workload)
    return JsonResponse({"Id": shapes.container_id(spec), "Warnings": []}, status=201)


@docker_endpoint("GET")
def container_inspect(request: HttpRequest, container_host: ContainerHost, ref: str) -> JsonResponse:
    return JsonResponse(shapes.container_inspect(_find_container(container_host, ref), request))


def _not_modified() -> HttpResponse:
    return HttpResponse(status=304)


@docker_endpoint("POST", write=True, query=params.ContainerStopQuery)
def container_action(
    request: HttpRequest, container_host: ContainerHost, ref: str, action: str, query: dict
) -> HttpResponse:
    """start, stop, restart, kill: 204 done, 304 when already in that state (as Docker answers)."""
    spec = _find_container(container_host, ref)
    workload = spec.workload
    running = workload.power_state == PowerState.ON
    if action == "start":
        if running:
            return _not_modified()
        lifecycle.container_start(workload=workload, user=request.user)
    elif action == "stop":
        if not running:
            return _not_modified()
        lifecycle.container_stop(workload=workload, user=request.user)
    elif action == "restart":
        lifecycle.container_restart(workload=workload, user=request.user)
    else:  # kill
        if not running:
            return error(f"Cannot kill container: {ref}: Container {shapes.container_id(spec)} is not running", 409)
        lifecycle.container_stop(workload=workload, user=request.user, exit_code=137)
    return HttpResponse(status=204)


@docker_endpoint("DELETE", write=True)
def container_delete(request: HttpRequest, container_host: ContainerHost, ref: str) -> HttpResponse:
    """docker rm [-f]."""
    spec = _find_container(container_host, ref)
    lifecycle.container_remove(workload=spec.workload, user=request.user, force=_truthy(request.GET.get("force")))
    return HttpResponse(status=204)


@docker_endpoint("POST", write=True)
def container_rename_view(request: HttpRequest, container_host: ContainerHost, ref: str) -> HttpResponse:
    spec = _find_container(container_host, ref)
    new_name = request.GET.get("name", "")
    holder = ContainerSpec.objects.filter(workload__name=new_name.lstrip("/")).first() if new_name else None
    if holder is not None and holder.pk != spec.pk:
        return error(
            f'Error when allocating new name: Conflict. The container name "/{new_name.lstrip("/")}" is already in '
            f'use by container "{shapes.container_id(holder)}". You have to remove (or rename) that container to be '
            "able to reuse that name.",
            409,
        )
    lifecycle.container_rename(workload=spec.workload, name=new_name, user=request.user)
    return HttpResponse(status=204)


@docker_endpoint("GET", query=params.ContainerLogsQuery)
def container_logs(request: HttpRequest, container_host: ContainerHost, ref: str, query: dict) -> HttpResponse:
    """docker logs: the container-VM's event log, one line per event, on stdout, in Docker's multiplexed framing."""
    spec = _find_container(container_host, ref)
    stdout, stderr = _truthy(request.GET.get("stdout")), _truthy(request.GET.get("stderr"))
    if not stdout and not stderr:
        return error("Bad parameters: you must choose at least one stream", 400)
    events = list(
        ContainerEvent.objects.filter(workload_id=spec.workload_id).select_related("user").order_by("at", "pk")
    )
    tail = query.get("tail")
    if tail is not None:
        events = events[-tail:] if tail else []
    timestamps = _truthy(request.GET.get("timestamps"))
    lines = []
    if stdout:
        for event in events:
            text = f"{event.get_action_display()}: {event.message}"
            if event.user_id:
                text += f" (by {event.user.get_username()})"
            lines.append((streams.STDOUT, f"{shapes.rfc3339(event.at)} {text}" if timestamps else text))
    return HttpResponse(streams.multiplex(lines), content_type=streams.MULTIPLEXED)


@docker_endpoint("POST")
def container_wait(request: HttpRequest, container_host: ContainerHost, ref: str) -> JsonResponse:
    """docker wait for a container that is not running (a running container-VM does not exit by itself)."""
    spec = _find_container(container_host, ref)
    if spec.workload.power_state == PowerState.ON:
        return error(f"Container {spec.workload.name} is a running container-VM: it does not exit by itself.", 409)
    return JsonResponse({"StatusCode": spec.exit_code or 0, "Error": None})


@csrf_exempt
@login_not_required
def not_found(request: HttpRequest, host_name: str, **kwargs) -> HttpResponse:
    return docker_headers(error("page not found", 404), shapes.MAX_API_VERSION)


# -- the user's token (a page, behind the usual login) -----------------------------------------------------------


@require_http_methods(["GET", "POST"])
def token_page(request: HttpRequest, host_name: str) -> HttpResponse:
    """Shows how to point the docker CLI at this container host, with the user's token; POST creates it."""
    container_host = ContainerHost.objects.filter(name=host_name).first()
    if container_host is None:
        return HttpResponse(status=404)
    if request.method == "POST":
        token_for(request.user, create=True)
        return redirect(request.path)
    token = token_for(request.user)
    return render(
        request,
        "containers/docker_token.html",
        {"container_host": container_host, "token": token, "may_change": may_change(request.user)},
    )


def docker_host_url(request: HttpRequest, container_host: ContainerHost) -> str:
    """tcp://HOST:PORT/docker/NAME for the server this request reached."""
    return f"tcp://{request.get_host()}/docker/{container_host.name}"
