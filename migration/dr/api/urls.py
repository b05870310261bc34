from rest_framework.routers import DefaultRouter

from migration.dr.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("dr/plans", views.RecoveryPlanViewSet, basename="dr-plan")
router.register("dr/drills", views.DrillRunViewSet, basename="dr-drill")

urlpatterns = [*router.urls]
