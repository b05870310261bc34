from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from hybridcloud.core.permissions import ReadForViewersWriteWithModelPermission
from hybridcloud.core.refusals import Refused, error_sentences
from migration.alarms import selectors, services
from migration.alarms.api.serializers import (
    AlarmDetailSerializer,
    AlarmRuleSerializer,
    AlarmSerializer,
    DeliverySerializer,
    NoteSerializer,
)
from migration.alarms.choices import AlarmState, DeliveryStatus, Severity
from migration.alarms.models import Alarm, AlarmRule
from migration.api.serializers import ErrorsSerializer  # one "Errors" component for the whole API


@extend_schema(
    parameters=[
        OpenApiParameter("state", OpenApiTypes.STR, enum=["open", *AlarmState.values]),
        OpenApiParameter("severity", OpenApiTypes.STR, enum=list(Severity.values)),
    ],
    responses={200: AlarmSerializer(many=True), 400: ErrorsSerializer},
)
class AlarmListView(generics.ListAPIView):
    """Alarms, open first (active, then acknowledged; the most severe first), then cleared ones, newest first."""

    serializer_class = AlarmSerializer
    filter_backends: list = []

    def list(self, request, *args, **kwargs):
        errors = []
        state, severity = request.query_params.get("state"), request.query_params.get("severity")
        if state and state not in ("open", *AlarmState.values):
            errors.append(f"state: “{state}” is not one of open, {', '.join(AlarmState.values)}.")
        if severity and severity not in Severity.values:
            errors.append(f"severity: “{severity}” is not one of {', '.join(Severity.values)}.")
        if errors:
            raise Refused(errors)
        return super().list(request, *args, **kwargs)

    def get_queryset(self):
        params = self.request.query_params
        return selectors.alarm_list(state=params.get("state") or None, severity=params.get("severity") or None)


class AlarmDetailView(generics.RetrieveAPIView):
    """One alarm with its history and its notifications (each attempt of each)."""

    serializer_class = AlarmDetailSerializer

    def get_object(self):
        try:
            return selectors.alarm_detail(self.kwargs["pk"])
        except Alarm.DoesNotExist:
            raise Http404("No such alarm.") from None


class _AlarmActionView(APIView):
    service = None

    @extend_schema(
        request=NoteSerializer, responses={200: AlarmSerializer, 400: ErrorsSerializer, 409: ErrorsSerializer}
    )
    def post(self, request, pk: int):
        if not Alarm.objects.filter(pk=pk).exists():
            raise Http404("No such alarm.")
        body = NoteSerializer(data=request.data)
        if not body.is_valid():
            raise Refused(error_sentences(body.errors))
        alarm = type(self).service(alarm_id=pk, user=request.user, note=body.validated_data["note"])
        return Response(AlarmSerializer(alarm).data)


class AlarmAcknowledgeView(_AlarmActionView):
    """Acknowledge an active alarm (operators); 409 when it is not active any more."""

    service = staticmethod(services.alarm_acknowledge)


class AlarmClearView(_AlarmActionView):
    """Clear an open alarm (operators); 409 when it is already cleared."""

    service = staticmethod(services.alarm_clear)


class _RuleWrites:
    permission_classes = [ReadForViewersWriteWithModelPermission]
    serializer_class = AlarmRuleSerializer
    queryset = AlarmRule.objects.prefetch_related("webhooks").order_by("name")
    filter_backends: list = []

    def perform_create(self, serializer):
        rule = AlarmRule(**{k: v for k, v in serializer.validated_data.items() if k != "webhooks"})
        serializer.instance = services.alarm_rule_save(
            rule=rule, webhooks=serializer.validated_data.get("webhooks", []), user=self.request.user
        )

    def perform_update(self, serializer):
        rule = serializer.instance
        for name, value in serializer.validated_data.items():
            if name != "webhooks":
                setattr(rule, name, value)
        services.alarm_rule_save(rule=rule, webhooks=serializer.validated_data.get("webhooks"), user=self.request.user)

    def perform_destroy(self, instance):
        services.alarm_rule_delete(rule=instance, user=self.request.user)


class AlarmRuleListView(_RuleWrites, generics.ListCreateAPIView):
    """Alarm rules; administrators (the `add alarm rule` permission) create them."""


class AlarmRuleDetailView(_RuleWrites, generics.RetrieveUpdateDestroyAPIView):
    """One alarm rule; administrators change or delete it (deleting it deletes its alarms)."""


@extend_schema(parameters=[OpenApiParameter("status", OpenApiTypes.STR, enum=list(DeliveryStatus.values))])
class DeliveryListView(generics.ListAPIView):
    """The delivery log: every notification of every alarm with each of its attempts, newest first."""

    serializer_class = DeliverySerializer
    filter_backends: list = []

    def get_queryset(self):
        qs = selectors.delivery_list()
        value = self.request.query_params.get("status")
        return qs.filter(status=value) if value in DeliveryStatus.values else qs
