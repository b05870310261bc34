"""The REST API under /api/: each app contributes its routes from `<app>/api/urls.py`; `/api/` lists them all."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from hybridcloud.api_root import APIRootView
from hybridcloud.core.api import AuditEntryViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("audit", AuditEntryViewSet, basename="audit")

urlpatterns = [
    path("", APIRootView.as_view(), name="api-root"),
    path("", include("inventory.api.urls")),
    path("", include("migration.api.urls")),
    path("", include("containers.api.urls")),
    path("", include("migration.dr.api.urls")),
    path("", include("migration.capacity.api.urls")),
    path("", include("migration.assessment.api.urls")),
    path("", include("migration.alarms.api.urls")),
    path("", include("migration.moves.api.urls")),
    path("", include(router.urls)),
]
