from django.shortcuts import get_object_or_404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from hybridcloud.core.refusals import Refused, error_sentences
from migration import selectors
from migration.api.serializers import (
    ErrorsSerializer,
    MigrationDetailSerializer,
    MigrationSerializer,
    MoveRequestSerializer,
    PrecheckResponseSerializer,
)
from migration.filtersets import MigrationFilterSet
from migration.placement import move_options
from migration.prechecks import precheck_migration
from migration.services import migration_cancel, migration_start


def _move_request(request) -> dict:
    """The validated move request; Refused (400) naming each field's problem when it does not validate."""
    serializer = MoveRequestSerializer(data=request.data)
    if not serializer.is_valid():
        raise Refused(error_sentences(serializer.errors))
    return dict(serializer.validated_data)


class PrecheckView(APIView):
    @extend_schema(request=MoveRequestSerializer, responses={200: PrecheckResponseSerializer, 400: ErrorsSerializer})
    def post(self, request):
        data = _move_request(request)
        result = precheck_migration(workload=data["workload"], **move_options(data))
        return Response(result.as_dict())


class MigrationListCreateView(generics.ListAPIView):
    serializer_class = MigrationSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = MigrationFilterSet

    def get_queryset(self):
        return selectors.migration_list()

    @extend_schema(request=MoveRequestSerializer, responses={201: MigrationSerializer, 400: ErrorsSerializer})
    def post(self, request):
        data = _move_request(request)
        migration = migration_start(
            workload=data["workload"], **move_options(data), requested_by=request.user,
            override_reason=data["override_reason"], reason=data["reason"],
        )  # fmt: skip
        migration = selectors.migration_queryset().get(pk=migration.pk)
        return Response(MigrationSerializer(migration).data, status=status.HTTP_201_CREATED)


class MigrationDetailView(generics.RetrieveAPIView):
    serializer_class = MigrationDetailSerializer

    def get_queryset(self):
        return selectors.migration_queryset().prefetch_related("rounds", "events")


class MigrationCancelView(APIView):
    @extend_schema(request=None, responses={200: MigrationSerializer, 400: ErrorsSerializer})
    def post(self, request, pk: int):
        migration = get_object_or_404(selectors.migration_queryset(), pk=pk)
        migration_cancel(migration=migration, by=request.user)
        return Response(MigrationSerializer(selectors.migration_queryset().get(pk=pk)).data)
