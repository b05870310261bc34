from django.urls import path

from migration.capacity.api import views

urlpatterns = [
    path("capacity/samples/", views.SampleListView.as_view(), name="capacity-sample-list"),
    path("capacity/recommendations/", views.RecommendationListView.as_view(), name="capacity-recommendation-list"),
    path(
        "capacity/recommendations/<int:pk>/",
        views.RecommendationDetailView.as_view(),
        name="capacity-recommendation-detail",
    ),
    path(
        "capacity/recommendations/<int:pk>/apply/",
        views.RecommendationApplyView.as_view(),
        name="capacity-recommendation-apply",
    ),
    path(
        "capacity/recommendations/<int:pk>/dismiss/",
        views.RecommendationDismissView.as_view(),
        name="capacity-recommendation-dismiss",
    ),
    path(
        "capacity/sites/<int:pk>/recommendations/",
        views.SiteRecommendView.as_view(),
        name="capacity-site-recommend",
    ),
    path("capacity/evacuations/", views.EvacuationListCreateView.as_view(), name="capacity-evacuation-list"),
    path("capacity/evacuations/preview/", views.EvacuationPreviewView.as_view(), name="capacity-evacuation-preview"),
    path("capacity/evacuations/<int:pk>/", views.EvacuationDetailView.as_view(), name="capacity-evacuation-detail"),
]
