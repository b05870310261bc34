from django.db.models import ProtectedError
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import filters, status, viewsets

from hybridcloud.core.api_errors import ErrorsSerializer
from hybridcloud.core.audit import audit_record, model_snapshot
from hybridcloud.core.permissions import ReadForViewersWriteWithModelPermission
from hybridcloud.core.refusals import Refused
from inventory.api import serializers
from inventory.filtersets import HostFilterSet, PlacementRuleFilterSet, WorkloadFilterSet
from inventory.models import CloudLink, Cluster, Datastore, Host, NetworkSegment, PlacementRule, Site, Tag, Workload


class InventoryViewSet(viewsets.ModelViewSet):
    """Viewers read; who holds the model's add/change/delete permission (administrators) writes."""

    permission_classes = [ReadForViewersWriteWithModelPermission]
    filter_backends = [DjangoFilterBackend, filters.SearchFilter, filters.OrderingFilter]

    # Every write is on the audit trail, with the values before and after.
    def perform_create(self, serializer):
        obj = serializer.save()
        audit_record(action="inventory.create", target=obj, after=model_snapshot(obj), request=self.request)

    def perform_update(self, serializer):
        before = model_snapshot(type(serializer.instance)._default_manager.get(pk=serializer.instance.pk))
        obj = serializer.save()
        audit_record(
            action="inventory.change", target=obj, before=before, after=model_snapshot(obj), request=self.request
        )

    def perform_destroy(self, instance):
        before, pk = model_snapshot(instance), instance.pk
        instance.delete()
        instance.pk = pk
        audit_record(action="inventory.delete", target=instance, before=before, request=self.request)

    @extend_schema(responses={204: None, 409: ErrorsSerializer})
    def destroy(self, request, *args, **kwargs):
        # Still depended on: a refusal, answered 409 in the API's one refusal shape by its exception handler.
        try:
            return super().destroy(request, *args, **kwargs)
        except ProtectedError as exc:
            blockers = sorted({str(obj._meta.verbose_name_plural) for obj in exc.protected_objects})
            raise Refused(
                f"Cannot delete: {', '.join(blockers)} still depend on it.", status_code=status.HTTP_409_CONFLICT
            ) from exc


class SiteViewSet(InventoryViewSet):
    queryset = Site.objects.all()
    serializer_class = serializers.SiteSerializer
    filterset_fields = ["kind", "provider"]
    search_fields = ["name", "location", "region"]


class CloudLinkViewSet(InventoryViewSet):
    queryset = CloudLink.objects.select_related("site_a", "site_b")
    serializer_class = serializers.CloudLinkSerializer
    filterset_fields = ["site_a", "site_b", "encrypted"]


class ClusterViewSet(InventoryViewSet):
    queryset = Cluster.objects.select_related("site")
    serializer_class = serializers.ClusterSerializer
    filterset_fields = ["site", "cpu_vendor", "cpu_baseline"]
    search_fields = ["name"]


class HostViewSet(InventoryViewSet):
    queryset = Host.objects.select_related("cluster__site").prefetch_related("tags")
    serializer_class = serializers.HostSerializer
    filterset_class = HostFilterSet
    search_fields = ["name"]


class DatastoreViewSet(InventoryViewSet):
    queryset = Datastore.objects.select_related("site").prefetch_related("hosts")
    serializer_class = serializers.DatastoreSerializer
    filterset_fields = ["site", "kind"]
    search_fields = ["name"]


class NetworkSegmentViewSet(InventoryViewSet):
    queryset = NetworkSegment.objects.prefetch_related("sites")
    serializer_class = serializers.NetworkSegmentSerializer
    filterset_fields = ["sites"]
    search_fields = ["name", "cidr"]


class WorkloadViewSet(InventoryViewSet):
    """`GET /api/workloads/?kind=vm|container_vm&site=ID&host=ID&search=TEXT` (also power_state, segment, ordering):
    the same filters as the workloads page."""

    queryset = Workload.objects.select_related("host__cluster__site", "segment").prefetch_related("tags")
    serializer_class = serializers.WorkloadSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = WorkloadFilterSet


class TagViewSet(InventoryViewSet):
    """`GET /api/tags/?search=TEXT`; administrators write."""

    queryset = Tag.objects.all()
    serializer_class = serializers.TagSerializer
    search_fields = ["name", "slug"]
    filterset_fields = ["slug"]


class PlacementRuleViewSet(InventoryViewSet):
    """`GET /api/placement-rules/?kind=keep_apart&tag=SLUG`; administrators write (the model's rules, and a rule
    needs members)."""

    queryset = PlacementRule.objects.select_related("workload_tag", "host_tag").prefetch_related("workloads")
    serializer_class = serializers.PlacementRuleSerializer
    filterset_class = PlacementRuleFilterSet
    search_fields = ["name", "description"]
