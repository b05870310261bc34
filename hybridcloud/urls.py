from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from hybridcloud import views
from hybridcloud.core import audit_views
from migration import placement_views

admin.site.site_header = "HybridCloud administration"
admin.site.site_title = "HybridCloud admin"
admin.site.index_title = "Inventory and settings"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("health/", views.health, name="health"),
    path(settings.ADMIN_URL, admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its script as a separate file: the CSP allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("hybridcloud.api_urls")),
    path("audit/", audit_views.audit_list, name="audit"),
    path("audit/export.csv", audit_views.audit_export, name="audit-export"),
    path("placement-rules/", placement_views.placement_rule_list, name="placement_rules"),
    path("migrations/", include("migration.urls")),
    path("containers/", include("containers.urls")),
    path("dr/", include("migration.dr.urls")),
    path("capacity/", include("migration.capacity.urls")),
    path("assessments/", include("migration.assessment.urls")),
    path("alarms/", include("migration.alarms.urls")),
    path("moves/", include("migration.moves.urls")),
    path("docker/<str:host_name>/", include("containers.docker_api.urls")),
    path("", include("inventory.urls")),
]
