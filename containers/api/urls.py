from rest_framework.routers import DefaultRouter

from containers.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("container-hosts", views.ContainerHostViewSet, basename="containers-host")
router.register("images", views.ImageViewSet, basename="containers-image")
router.register("containers", views.ContainerViewSet, basename="containers-container")
router.register("container-clusters", views.ContainerClusterViewSet, basename="containers-cluster")
router.register("pods", views.PodViewSet, basename="containers-pod")

urlpatterns = [*router.urls]
