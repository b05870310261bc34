"""The REST API under /api/: each app contributes its routes from `<app>/api/urls.py`."""

from django.urls import include, path

urlpatterns = [
    path("", include("inventory.api.urls")),
    path("", include("migration.api.urls")),
    path("", include("containers.api.urls")),
    path("", include("migration.dr.api.urls")),
]
