from django.urls import path

from migration.dr import views

app_name = "dr"

urlpatterns = [
    path("", views.plan_list, name="plan_list"),
    path("export.csv", views.plan_export, name="plan_export"),
    path("plans/<int:pk>/", views.plan_detail, name="plan_detail"),
    path("plans/<int:pk>/schedule/", views.plan_schedule, name="plan_schedule"),
    path("plans/<int:pk>/drills/", views.plan_start_drill, name="plan_start_drill"),
    path("plans/<int:pk>/planned-migration/", views.plan_planned_migration, name="plan_planned_migration"),
    path("drills/<int:pk>/", views.drill_detail, name="drill_detail"),
    path("drills/<int:pk>/cancel/", views.drill_cancel, name="drill_cancel"),
    path("drills/<int:pk>/report/", views.drill_report, name="drill_report"),
]
