from django.urls import path

from migration import views

app_name = "migration"

urlpatterns = [
    path("", views.migration_list, name="list"),
    path("export.csv", views.migration_export, name="export"),
    path("new/", views.migration_new, name="new"),
    path("calibration/", views.migration_calibration, name="calibration"),
    path("<int:pk>/", views.migration_detail, name="detail"),
    path("<int:pk>/cancel/", views.migration_cancel_view, name="cancel"),
]
