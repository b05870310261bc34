"""`/api/`: the API root lists every collection of every app, found from the URL configuration itself.

Rule: a collection is a URL named `*-list` that takes no argument, under `/api/` (each app's `api/urls.py`); a new
app's API appears here as soon as its `urls.py` is included, with nothing to register twice. The schema and the
interactive docs are listed beside them.
"""

from functools import cache

from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

EXTRA = ("api-schema", "api-docs")


def _takes_arguments(p: URLPattern) -> bool:
    """A path converter (`<int:pk>`) or a regex group (a router's `(?P<format>...)` suffix) takes an argument."""
    return bool(p.pattern.converters) or p.pattern.regex.groups > 0


def _list_names(patterns) -> list[str]:
    names: list[str] = []
    for p in patterns:
        if isinstance(p, URLResolver):
            names.extend(_list_names(p.url_patterns))
        elif isinstance(p, URLPattern) and (p.name or "").endswith("-list") and not _takes_arguments(p):
            names.append(p.name)
    return names


@cache
def api_collections() -> tuple[tuple[str, str], ...]:
    """(key, URL name) for every collection under /api/, sorted by key; the key is the path below /api/."""
    resolver = get_resolver()
    root = resolver.reverse("api-root")
    found = {}
    for name in dict.fromkeys(_list_names(resolver.url_patterns)):
        path = resolver.reverse(name)
        if path.startswith(root) and path != root:
            found[path.removeprefix(root).strip("/")] = name
    return tuple(sorted(found.items()))


class APIRootView(APIView):
    """Every API of HybridCloud: inventory, migrations, containers, DR, capacity, assessments, alarms, moves, audit."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, description="Each collection's name and its URL.")
    def get(self, request, *args, **kwargs):
        body = {key: reverse(name, request=request) for key, name in api_collections()}
        for name in EXTRA:
            body[name.removeprefix("api-")] = reverse(name, request=request)
        return Response(body)
