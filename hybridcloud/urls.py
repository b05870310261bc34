from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from hybridcloud import views

admin.site.site_header = "HybridCloud administration"
admin.site.site_title = "HybridCloud admin"
admin.site.index_title = "Inventory and settings"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("health/", views.health, name="health"),
    path(settings.ADMIN_URL, admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include("hybridcloud.api_urls")),
    path("migrations/", include("migration.urls")),
    path("containers/", include("containers.urls")),
    path("dr/", include("migration.dr.urls")),
    path("", include("inventory.urls")),
]
