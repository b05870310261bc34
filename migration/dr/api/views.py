from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from hybridcloud.core.refusals import Refused
from migration.dr import services
from migration.dr.api.serializers import (
    DrillRunDetailSerializer,
    DrillRunSerializer,
    PlannedMigrationRequestSerializer,
    RecoveryPlanDetailSerializer,
    RecoveryPlanListSerializer,
)
from migration.dr.models import DrillRun, DrillStep, DrillWorkloadResult, ProtectedWorkload, RecoveryPlan


class RecoveryPlanViewSet(viewsets.ReadOnlyModelViewSet):
    """Recovery plans; `POST /api/dr/plans/<id>/drills/` starts a test drill and `POST .../planned-migrations/` a
    planned migration (operators)."""

    filterset_fields = ["protected_site", "recovery_site", "enabled"]
    search_fields = ["name", "description"]
    ordering_fields = ["name", "target_rto_s"]

    def get_queryset(self):
        queryset = RecoveryPlan.objects.select_related("protected_site", "recovery_site", "schedule__crontab")
        if self.action == "retrieve":
            members = ProtectedWorkload.objects.select_related("workload").order_by("workload__name")
            queryset = queryset.prefetch_related(Prefetch("groups__members", queryset=members))
        return queryset.order_by("name")

    def get_serializer_class(self):
        return RecoveryPlanDetailSerializer if self.action == "retrieve" else RecoveryPlanListSerializer

    @extend_schema(request=None, responses={201: DrillRunSerializer})
    @action(detail=True, methods=["post"], url_path="drills")
    def start_drill(self, request, pk=None):
        run = services.drill_start(plan=self.get_object(), started_by=request.user)  # refused: 409 with errors
        return Response(DrillRunSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PlannedMigrationRequestSerializer, responses={201: DrillRunSerializer})
    @action(detail=True, methods=["post"], url_path="planned-migrations")
    def start_planned_migration(self, request, pk=None):
        """Really move the plan's workloads, live, to its recovery site: 400 with the pre-check errors that would
        stop it (nothing moved), or with the warnings when they need an `override_reason` and none was given; 409
        when a drill of the plan is already running."""
        plan = self.get_object()
        body = PlannedMigrationRequestSerializer(data=request.data)
        if not body.is_valid():
            raise Refused.invalid(body.errors)
        # Refusals (hybridcloud.core.refusals) are answered by the API's exception handler: 400 or 409, with errors.
        run = services.planned_migration_start(
            plan=plan, started_by=request.user, override_reason=body.validated_data.get("override_reason", "")
        )
        return Response(DrillRunSerializer(run).data, status=status.HTTP_201_CREATED)


class DrillRunViewSet(viewsets.ReadOnlyModelViewSet):
    """Drills, newest first; the detail has every step and per-workload result."""

    filterset_fields = ["plan", "state", "verdict", "trigger", "kind"]
    ordering_fields = ["created_at", "measured_rto_s"]

    def get_queryset(self):
        queryset = DrillRun.objects.select_related("plan")
        if self.action == "retrieve":
            queryset = queryset.prefetch_related(
                Prefetch("steps", queryset=DrillStep.objects.order_by("order")),
                Prefetch("results", queryset=DrillWorkloadResult.objects.order_by("priority", "workload_name")),
            )
        return queryset.order_by("-created_at", "-pk")

    def get_serializer_class(self):
        return DrillRunDetailSerializer if self.action == "retrieve" else DrillRunSerializer
