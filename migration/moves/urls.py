from django.urls import path

from migration.moves import views

app_name = "moves"

urlpatterns = [
    path("", views.move_group_list, name="list"),
    path("new/", views.move_group_new, name="new"),
    path("<int:pk>/", views.move_group_detail, name="detail"),
    path("<int:pk>/edit/", views.move_group_edit, name="edit"),
    path("<int:pk>/cancel/", views.move_group_cancel_view, name="cancel"),
]
