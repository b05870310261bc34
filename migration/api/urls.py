from django.urls import path

from migration.api import views

urlpatterns = [
    path("migrations/", views.MigrationListCreateView.as_view(), name="api-migration-list"),
    path("migrations/precheck/", views.PrecheckView.as_view(), name="api-migration-precheck"),
    path("migrations/<int:pk>/", views.MigrationDetailView.as_view(), name="api-migration-detail"),
    path("migrations/<int:pk>/cancel/", views.MigrationCancelView.as_view(), name="api-migration-cancel"),
]
