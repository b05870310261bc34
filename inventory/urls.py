from django.urls import path

from inventory import import_views, views

app_name = "inventory"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("workloads/", views.workload_list, name="workload_list"),
    path("workloads/export.csv", views.workload_export, name="workload_export"),
    path("workloads/<int:pk>/", views.workload_detail, name="workload_detail"),
    path("sites/", views.site_list, name="site_list"),
    path("sites/<int:pk>/", views.site_detail, name="site_detail"),
    path("hosts/<int:pk>/", views.host_detail, name="host_detail"),
    path("clusters/<int:pk>/", views.cluster_detail, name="cluster_detail"),
    path("segments/<int:pk>/", views.segment_detail, name="segment_detail"),
    path("imports/", import_views.estate_import_list, name="estate_import_list"),
    path("imports/upload/", import_views.estate_import_upload, name="estate_import_upload"),
    path("imports/demo/", import_views.estate_import_demo, name="estate_import_demo"),
    path("imports/<int:pk>/", import_views.estate_import_detail, name="estate_import_detail"),
    path("imports/<int:pk>/status.json", import_views.estate_import_status, name="estate_import_status"),
]
