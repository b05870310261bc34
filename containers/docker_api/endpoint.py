"""The HTTP plumbing every Docker Engine API view shares: `docker_endpoint` (version check, token authentication,
roles, the container host, the request's shape, one transaction) and Docker's error bodies and headers.

A refusal comes back as a Docker error body {"message": ...} so the CLI prints "Error response from daemon: ...".
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import RequestDataTooBig
from django.db import DataError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from containers.docker_api import params
from containers.docker_api import serializers as shapes
from containers.docker_api.auth import FORBIDDEN, UNAUTHORIZED, may_change, token_user
from containers.models import ContainerHost
from containers.services.refusals import ContainerRefused
from hybridcloud.core.roles import NO_ROLE, is_viewer

logger = logging.getLogger(__name__)

# How a refusal's code maps to the HTTP status the Docker daemon would use for it.
STATUS_OF_CODE = {
    "no_such_image": 404,
    "not_found": 404,
    "name_in_use": 409,
    "conflict": 409,
    "no_capacity": 409,
    "no_address": 409,
    "port_in_use": 500,  # Docker: "driver failed programming external connectivity ...", a 500
    "bad_value": 400,
    "bad_name": 400,
}


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"message": message}, status=status)


def refusal(exc: ContainerRefused) -> JsonResponse:
    return error(" ".join(exc.messages), STATUS_OF_CODE.get(exc.code, 400))


def docker_endpoint(
    *methods: str, write: bool = False, query: type | None = None, body: type | None = None
) -> Callable:
    """Wraps a Docker API view: API version check, token authentication, role check (write=True needs an
    operator), the container host, the request's shape (`query` and `body`: shapes from docker_api.params, passed
    to the view as `query=` and `body=`), Docker error bodies and headers. Exempt from the login redirect and from
    CSRF: the token in the Authorization header is the credential.

    Whatever goes wrong comes back as a Docker error body, never Django's HTML page: a request of the wrong shape
    is a 400 naming the field, a body over DATA_UPLOAD_MAX_MEMORY_SIZE a 413; the view runs in one transaction, so
    a request refused part-way (a parse error the shapes did not foresee included, a 400 too) creates nothing."""
    allowed = {*methods, "HEAD"} if "GET" in methods else set(methods)

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, host_name: str, version: str | None = None, **kwargs) -> HttpResponse:
            api_version = version or shapes.MAX_API_VERSION
            refused = _version_refusal(version)
            if refused is not None:
                return docker_headers(refused, shapes.MAX_API_VERSION)
            if request.method not in allowed:
                return docker_headers(error(f"{request.method} is not supported on {request.path}", 405), api_version)
            refused = _authorize(request, write=write)
            if refused is not None:
                return docker_headers(refused, api_version)
            container_host = (
                ContainerHost.objects.select_related("cluster__site", "segment").filter(name=host_name).first()
            )
            if container_host is None:
                return docker_headers(error(f"No such container host: {host_name}", 404), api_version)
            return docker_headers(_run(view, request, container_host, kwargs, query=query, body=body), api_version)

        return csrf_exempt(login_not_required(wrapper))

    return decorate


def _version_refusal(version: str | None) -> JsonResponse | None:
    """The 400 Docker answers for an API version outside the supported range, or None."""
    if version is None:
        return None
    if _version_tuple(version) < _version_tuple(shapes.MIN_API_VERSION):
        return error(
            f"client version {version} is too old. Minimum supported API version is {shapes.MIN_API_VERSION}, "
            "please upgrade your client to a newer version",
            400,
        )
    if _version_tuple(version) > _version_tuple(shapes.MAX_API_VERSION):
        return error(
            f"client version {version} is too new. Maximum supported API version is {shapes.MAX_API_VERSION}", 400
        )
    return None


def _authorize(request: HttpRequest, *, write: bool) -> JsonResponse | None:
    """Sets request.user from the token; a 401 without a valid token, a 403 without a role (or, for a write,
    without the operator role)."""
    user = token_user(request.headers.get("Authorization", ""))
    if user is None:
        return error(UNAUTHORIZED, 401)
    if not is_viewer(user):
        return error(f"Forbidden: {user.get_username()} has no role. {NO_ROLE}", 403)
    if write and not may_change(user):
        return error(FORBIDDEN.format(user=user.get_username()), 403)
    request.user = user
    return None


def _run(
    view: Callable, request: HttpRequest, container_host: ContainerHost, kwargs: dict, *, query, body
) -> HttpResponse:
    # A NUL byte is never part of a Docker name, id or filter (and PostgreSQL text cannot hold one): refuse it
    # for every path and query parameter here, before anything below reads it.
    for where, values in (("path", kwargs), ("query", request.GET)):
        for key, value in values.items():
            if isinstance(value, str) and "\x00" in value:
                return error(f"invalid {where} parameter {key!r}: it contains a NUL byte", 400)
    try:
        if query is not None:
            kwargs["query"] = params.validate(query, request.GET.dict(), where="query")
        if body is not None:
            kwargs["body"] = params.parse_body(request.body, body)
        with transaction.atomic():
            return view(request, container_host, **kwargs)
    except params.BadParameter as exc:
        return error(exc.message, 400)
    except RequestDataTooBig:
        return error(
            f"request body too large: the limit is {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes "
            f"(Content-Length {request.headers.get('Content-Length', '?')})",
            413,
        )
    except ContainerRefused as exc:
        return refusal(exc)
    except (ValueError, TypeError, KeyError, AttributeError, UnicodeError) as exc:
        # A value the shapes let through but something below could not read: the request's fault, and nothing
        # was written (the transaction rolled back). Logged with its traceback, so the shape can be tightened.
        logger.warning("Docker API %s %s: unreadable request", request.method, request.path, exc_info=True)
        return error(f"bad parameter: the request could not be read ({type(exc).__name__}: {exc})"[:500], 400)
    except DataError as exc:
        # A value the database cannot store (a NUL byte in a JSON string, a number out of range): bad input, and the
        # transaction rolled back.
        logger.warning("Docker API %s %s: value refused by the database", request.method, request.path, exc_info=True)
        return error(f"bad parameter: a value cannot be stored ({str(exc).splitlines()[0]})"[:500], 400)
    except Exception:
        logger.exception("Docker API %s %s failed", request.method, request.path)
        return error("internal error in the HybridCloud container host; see the server log", 500)


def docker_headers(response: HttpResponse, api_version: str) -> HttpResponse:
    response["API-Version"] = api_version
    response["Docker-Experimental"] = "false"
    response["OSType"] = "linux"  # HTTP headers are case-insensitive: this is also "Ostype"
    response["Server"] = f"HybridCloud/{shapes.SERVER_VERSION} (linux)"
    return response
