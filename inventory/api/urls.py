from rest_framework.routers import DefaultRouter

from inventory.api import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("sites", views.SiteViewSet, basename="inventory-site")
router.register("links", views.CloudLinkViewSet, basename="inventory-cloudlink")
router.register("clusters", views.ClusterViewSet, basename="inventory-cluster")
router.register("hosts", views.HostViewSet, basename="inventory-host")
router.register("datastores", views.DatastoreViewSet, basename="inventory-datastore")
router.register("segments", views.NetworkSegmentViewSet, basename="inventory-segment")
router.register("workloads", views.WorkloadViewSet, basename="inventory-workload")
router.register("tags", views.TagViewSet, basename="inventory-tag")
router.register("placement-rules", views.PlacementRuleViewSet, basename="inventory-placementrule")

urlpatterns = [*router.urls]
