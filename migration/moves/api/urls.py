from django.urls import path

from migration.moves.api import views

urlpatterns = [
    path("move-groups/", views.MoveGroupListCreateView.as_view(), name="api-move-group-list"),
    path("move-groups/precheck/", views.MoveGroupPrecheckView.as_view(), name="api-move-group-precheck"),
    path("move-groups/<int:pk>/", views.MoveGroupDetailView.as_view(), name="api-move-group-detail"),
    path("move-groups/<int:pk>/cancel/", views.MoveGroupCancelView.as_view(), name="api-move-group-cancel"),
]
