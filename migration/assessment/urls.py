from django.urls import path

from migration.assessment import views

app_name = "assessment"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.new, name="new"),
    path("compare/", views.compare, name="compare"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/progress/", views.progress, name="progress"),
    path("<int:pk>/rerun/", views.rerun, name="rerun"),
    path("<int:pk>/export.csv", views.export_csv, name="export_csv"),
    path("<int:pk>/export.xlsx", views.export_xlsx, name="export_xlsx"),
]
