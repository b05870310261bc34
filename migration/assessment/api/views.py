from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response

from hybridcloud.core.refusals import field_errors
from migration.assessment import services
from migration.assessment.api.serializers import (
    AssessmentDetailSerializer,
    AssessmentErrorsSerializer,
    AssessmentRequestSerializer,
    AssessmentSerializer,
)
from migration.assessment.choices import AssessmentStatus
from migration.assessment.models import Assessment, AssessmentRow


@extend_schema(
    parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=list(AssessmentStatus.values))],
)
class AssessmentListCreateView(generics.ListAPIView):
    """Assessments, newest first. POST (operators) queues one: `{"scope": {...}, "destination": ID, "scenario":
    {...}}`; it is computed in the background (follow `status` and `percent` on its detail)."""

    serializer_class = AssessmentSerializer
    filter_backends: list = []

    def get_queryset(self):
        qs = Assessment.objects.select_related("destination")
        wanted = self.request.query_params.get("status")
        if wanted in AssessmentStatus.values:
            qs = qs.filter(status=wanted)
        return qs.order_by("-created_at", "-pk")

    @extend_schema(
        request=AssessmentRequestSerializer,
        responses={201: AssessmentSerializer, 400: AssessmentErrorsSerializer},
    )
    def post(self, request):
        serializer = AssessmentRequestSerializer(data=request.data)
        if not serializer.is_valid():
            raise services.AssessmentRefused(field_errors(serializer.errors))
        data = serializer.validated_data
        scope = data["scope"]
        overrides = {}
        if data.get("dirty_rate_mb_s"):
            overrides = {"dirty_rate_bps": {k: v * services.MB for k, v in data["dirty_rate_mb_s"].items()}}
        assessment = services.assessment_create(
            scope_kind=scope["kind"], scope_site=scope.get("site"), scope_cluster=scope.get("cluster"),
            scope_estate=scope.get("estate"), scope_query=scope.get("query", ""), destination=data["destination"],
            scenario=dict(data.get("scenario") or {}), overrides=overrides, name=data.get("name", ""),
            user=request.user,
        )  # fmt: skip
        return Response(AssessmentSerializer(assessment).data, status=status.HTTP_201_CREATED)


class AssessmentDetailView(generics.RetrieveAPIView):
    """One assessment: status and progress, then (when done) its summary, assumptions and a row per workload."""

    serializer_class = AssessmentDetailSerializer

    def get_object(self):
        rows = AssessmentRow.objects.order_by("order")
        return get_object_or_404(
            Assessment.objects.select_related("destination").prefetch_related(Prefetch("rows", queryset=rows)),
            pk=self.kwargs["pk"],
        )
