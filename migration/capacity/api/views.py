from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from hybridcloud.core.refusals import Refused, error_sentences
from inventory.models import Site
from migration.api.serializers import ErrorsSerializer  # one "Errors" component for the whole API
from migration.capacity.api.serializers import (
    ApplyResponseSerializer,
    EvacuationDetailSerializer,
    EvacuationPreviewSerializer,
    EvacuationRequestSerializer,
    EvacuationSerializer,
    RecommendationDetailSerializer,
    RecommendationSerializer,
    SampleQuerySerializer,
    UtilisationSampleSerializer,
)
from migration.capacity.choices import EvacuationState, RecommendationState
from migration.capacity.models import Evacuation, EvacuationItem, Recommendation, RecommendedMove, UtilisationSample
from migration.capacity.services import evacuations, recommendations
from migration.capacity.services.evacuations import EvacuationPlan


def _recommendations():
    return Recommendation.objects.select_related("site", "host").annotate(moves_count=Count("moves"))


def _recommendation_detail(pk: int) -> Recommendation:
    moves = RecommendedMove.objects.select_related("workload", "source_host", "destination_host__cluster")
    return get_object_or_404(_recommendations().prefetch_related(Prefetch("moves", queryset=moves)), pk=pk)


def _evacuation_detail(pk: int) -> Evacuation:
    items = EvacuationItem.objects.select_related("workload", "source_host", "destination_host").order_by("order")
    return get_object_or_404(
        Evacuation.objects.select_related("host", "site").prefetch_related(Prefetch("items", queryset=items)), pk=pk
    )


# -- samples --------------------------------------------------------------------------------------------------------


@extend_schema(
    parameters=[
        OpenApiParameter("scope", OpenApiTypes.STR, enum=["workload", "host", "site"]),
        OpenApiParameter("object", OpenApiTypes.INT, description="The workload, host or site id (needs scope)."),
        OpenApiParameter("since", OpenApiTypes.DATETIME, description="Samples at or after this instant."),
        OpenApiParameter("until", OpenApiTypes.DATETIME, description="Samples at or before this instant."),
    ],
    responses={200: UtilisationSampleSerializer(many=True), 400: ErrorsSerializer},
)
class SampleListView(generics.ListAPIView):
    """Utilisation samples (percent of capacity), oldest first per object; hourly means beyond the raw retention."""

    serializer_class = UtilisationSampleSerializer
    filter_backends: list = []

    def list(self, request, *args, **kwargs):
        query = SampleQuerySerializer(data=request.query_params)
        if not query.is_valid():
            raise Refused(error_sentences(query.errors))
        self.filters = query.validated_data
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        f = getattr(self, "filters", {})
        qs = UtilisationSample.objects.all()
        if f.get("scope"):
            qs = qs.filter(scope=f["scope"])
        if f.get("object") is not None:
            qs = qs.filter(object_id=f["object"])
        if f.get("since"):
            qs = qs.filter(at__gte=f["since"])
        if f.get("until"):
            qs = qs.filter(at__lte=f["until"])
        return qs.order_by("scope", "object_id", "at", "pk")


# -- recommendations ------------------------------------------------------------------------------------------------


@extend_schema(
    parameters=[
        OpenApiParameter("state", OpenApiTypes.STR, enum=list(RecommendationState.values)),
        OpenApiParameter("site", OpenApiTypes.INT),
    ]
)
class RecommendationListView(generics.ListAPIView):
    """Proposals of moves, newest first."""

    serializer_class = RecommendationSerializer
    filter_backends: list = []

    def get_queryset(self):
        qs = _recommendations()
        state = self.request.query_params.get("state")
        if state in RecommendationState.values:
            qs = qs.filter(state=state)
        site = self.request.query_params.get("site", "")
        if site.isdigit() and len(site) < 10:
            qs = qs.filter(site_id=int(site))
        return qs.order_by("-created_at", "-pk")


class RecommendationDetailView(generics.RetrieveAPIView):
    """One proposal with its moves, each with the engine's predicted time and downtime."""

    serializer_class = RecommendationDetailSerializer

    def get_object(self):
        return _recommendation_detail(self.kwargs["pk"])


class SiteRecommendView(APIView):
    """Compute proposals for the site at its next peak; replaces its open proposals (operators)."""

    @extend_schema(request=None, responses={201: RecommendationDetailSerializer(many=True)})
    def post(self, request, pk: int):
        site = get_object_or_404(Site, pk=pk)
        recs = recommendations.recommendations_compute(site=site)
        data = RecommendationDetailSerializer([_recommendation_detail(r.pk) for r in recs], many=True).data
        return Response(data, status=status.HTTP_201_CREATED)


class RecommendationApplyRequestSerializer(serializers.Serializer):
    override_reason = serializers.CharField(
        required=False, allow_blank=True, max_length=1000,
        help_text="Why the moves' pre-check warnings are acceptable; required when any move has warnings (400 with "
        "the warnings listed otherwise). Kept in the audit trail and on each migration.",
    )  # fmt: skip


class RecommendationApplyView(APIView):
    """Start every move of an open proposal (operators); each move is pre-checked again when it starts."""

    @extend_schema(
        request=RecommendationApplyRequestSerializer,
        responses={200: ApplyResponseSerializer, 400: ErrorsSerializer},
    )
    def post(self, request, pk: int):
        rec = get_object_or_404(Recommendation, pk=pk)
        body = RecommendationApplyRequestSerializer(data=request.data if isinstance(request.data, dict) else {})
        if not body.is_valid():
            raise Refused(error_sentences(body.errors))
        reason = body.validated_data.get("override_reason", "")
        results = recommendations.recommendation_apply(recommendation=rec, user=request.user, override_reason=reason)
        return Response(
            {"results": results, "recommendation": RecommendationDetailSerializer(_recommendation_detail(pk)).data}
        )


class RecommendationDismissView(APIView):
    @extend_schema(request=None, responses={200: RecommendationDetailSerializer, 400: ErrorsSerializer})
    def post(self, request, pk: int):
        rec = get_object_or_404(Recommendation, pk=pk)
        recommendations.recommendation_dismiss(recommendation=rec, user=request.user)
        return Response(RecommendationDetailSerializer(_recommendation_detail(pk)).data)


# -- evacuations ----------------------------------------------------------------------------------------------------


def _plan_data(plan: EvacuationPlan) -> dict:
    return {
        "scope": plan.scope,
        "site": plan.site.pk,
        "host": plan.host.pk if plan.host else None,
        "destination_site": plan.destination_site.pk if plan.destination_site else None,
        "starts_at": plan.starts_at,
        "makespan_s": plan.prediction["makespan_s"],
        "fits_window": plan.fit["fits"],
        "window": plan.fit,
        "movable": len(plan.movable),
        "blocked": len(plan.blocked),
        "items": [
            {
                "workload": i.workload.pk,
                "workload_name": i.workload.name,
                "source_host": i.workload.host_id,
                "destination_host": i.target.pk if i.target else None,
                "destination_host_name": i.target.name if i.target else None,
                "reason": i.reason,
                "predicted_start_s": i.prediction.get("start_s"),
                "predicted_end_s": i.prediction.get("end_s"),
                "predicted_downtime_s": i.prediction.get("downtime_s"),
                "over_window": i.over_window,
                "warnings": i.warnings,
            }
            for i in plan.items
        ],
        "warnings": plan.warnings,
    }


def _evacuation_request(request) -> dict:
    """The validated evacuation request; Refused (400) naming each field's problem when it does not validate."""
    serializer = EvacuationRequestSerializer(data=request.data)
    if not serializer.is_valid():
        raise Refused(error_sentences(serializer.errors))
    return serializer.validated_data


@extend_schema(
    parameters=[
        OpenApiParameter("state", OpenApiTypes.STR, enum=list(EvacuationState.values)),
        OpenApiParameter("site", OpenApiTypes.INT),
    ]
)
class EvacuationListCreateView(generics.ListAPIView):
    """Evacuations, newest first; POST starts one (operators): `{"host": ID}` puts a host in maintenance,
    `{"site": ID, "destination_site": ID}` moves a whole site; both take an optional window."""

    serializer_class = EvacuationSerializer
    filter_backends: list = []

    def get_queryset(self):
        qs = Evacuation.objects.select_related("host", "site")
        state = self.request.query_params.get("state")
        if state in EvacuationState.values:
            qs = qs.filter(state=state)
        site = self.request.query_params.get("site", "")
        if site.isdigit() and len(site) < 10:
            qs = qs.filter(site_id=int(site))
        return qs.order_by("-created_at", "-pk")

    @extend_schema(
        request=EvacuationRequestSerializer, responses={201: EvacuationDetailSerializer, 400: ErrorsSerializer}
    )
    def post(self, request):
        data = _evacuation_request(request)
        window = {
            "window_start": data.get("window_start"), "window_end": data.get("window_end"),
            "override_reason": data.get("override_reason", ""),
        }  # fmt: skip
        if data.get("host") is not None:
            evacuation = evacuations.host_evacuate(host=data["host"], user=request.user, **window)
        else:
            evacuation = evacuations.site_evacuate(
                site=data["site"], destination_site=data["destination_site"], user=request.user, **window
            )
        return Response(
            EvacuationDetailSerializer(_evacuation_detail(evacuation.pk)).data, status=status.HTTP_201_CREATED
        )


class EvacuationDetailView(generics.RetrieveAPIView):
    """One evacuation with its prediction and every workload's item (destination, state, reason, prediction)."""

    serializer_class = EvacuationDetailSerializer

    def get_object(self):
        return _evacuation_detail(self.kwargs["pk"])


class EvacuationPreviewView(APIView):
    """What an evacuation would do and how long its wave would take; creates nothing (operators)."""

    @extend_schema(
        request=EvacuationRequestSerializer, responses={200: EvacuationPreviewSerializer, 400: ErrorsSerializer}
    )
    def post(self, request):
        data = _evacuation_request(request)
        plan = evacuations.evacuation_plan(
            host=data.get("host"), site=data.get("site"), destination_site=data.get("destination_site"),
            window_start=data.get("window_start"), window_end=data.get("window_end"),
        )  # fmt: skip
        return Response(EvacuationPreviewSerializer(_plan_data(plan)).data)
