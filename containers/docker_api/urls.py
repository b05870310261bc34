"""Mounted at /docker/<host_name>/ (before the inventory's catch-all). Paths take an optional /v1.xx prefix."""

from django.urls import path, re_path

from containers.docker_api import views

V = r"^(?:v(?P<version>\d+\.\d+)/)?"
C = r"containers/(?P<ref>[^/]+)"

urlpatterns = [
    path("token/", views.token_page, name="docker_token"),
    re_path(V + r"_ping$", views.ping),
    re_path(V + r"version$", views.version),
    re_path(V + r"info$", views.info),
    re_path(V + r"images/create$", views.image_create),
    re_path(V + r"images/json$", views.image_list),
    re_path(V + r"images/(?P<name>[\s\S]+)/json$", views.image_inspect),
    re_path(V + r"containers/json$", views.container_list),
    re_path(V + r"containers/create$", views.container_create),
    re_path(V + C + r"/json$", views.container_inspect),
    re_path(V + C + r"/(?P<action>start|stop|restart|kill)$", views.container_action),
    re_path(V + C + r"/rename$", views.container_rename_view),
    re_path(V + C + r"/logs$", views.container_logs),
    re_path(V + C + r"/wait$", views.container_wait),
    re_path(V + C + r"$", views.container_delete),
    # Anything else, whatever its characters (newlines too) and its end: Docker's 404 body, never Django's HTML page;
    # and as every path matches, APPEND_SLASH never redirects a Docker call.
    re_path(r"^[\s\S]*$", views.not_found),
]
