from django.urls import path

from migration.capacity import views

app_name = "capacity"

urlpatterns = [
    path("", views.index, name="index"),
    path("hosts/<int:pk>/", views.host_detail, name="host_detail"),
    path("hosts/<int:pk>/evacuate/", views.host_evacuate, name="host_evacuate"),
    path("sites/<int:pk>/recommend/", views.site_recommend, name="site_recommend"),
    path("sites/<int:pk>/evacuate/", views.site_evacuate, name="site_evacuate"),
    path("recommendations/<int:pk>/", views.recommendation_detail, name="recommendation_detail"),
    path("recommendations/<int:pk>/apply/", views.recommendation_apply, name="recommendation_apply"),
    path("recommendations/<int:pk>/dismiss/", views.recommendation_dismiss, name="recommendation_dismiss"),
    path("evacuations/<int:pk>/", views.evacuation_detail, name="evacuation_detail"),
    path("evacuations/<int:pk>/progress/", views.evacuation_progress, name="evacuation_progress"),
]
