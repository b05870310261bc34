from django.urls import path

from containers import views

app_name = "containers"

urlpatterns = [
    path("", views.index, name="index"),
    path("images/pull/", views.image_pull, name="image_pull"),
    path("hosts/<str:name>/", views.host_detail, name="host_detail"),
    path("vm/<int:pk>/", views.container_detail, name="container_detail"),
    path("vm/<int:pk>/<slug:action>/", views.container_action, name="container_action"),
    path("clusters/<str:name>/", views.cluster_detail, name="cluster_detail"),
    path("pods/<int:pk>/", views.pod_detail, name="pod_detail"),
]
