from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from hybridcloud.core.refusals import Refused, error_sentences
from migration.api.serializers import ErrorsSerializer
from migration.moves import selectors
from migration.moves.api.serializers import (
    GroupPrecheckSerializer,
    MoveGroupCreateSerializer,
    MoveGroupDetailSerializer,
    MoveGroupScheduleSerializer,
    MoveGroupSerializer,
    SelectionSerializer,
)
from migration.moves.choices import MoveGroupState
from migration.moves.services import (
    move_group_cancel,
    move_group_create,
    move_group_precheck,
    move_group_reschedule,
)
from migration.placement import move_options


def _selection(serializer_class, request):
    """The request's body validated, and its workloads; Refused (400) saying what is wrong."""
    serializer = serializer_class(data=request.data)
    if not serializer.is_valid():
        raise Refused(error_sentences(serializer.errors))
    data = dict(serializer.validated_data)
    workloads, problems = selectors.selected_workloads(ids=data.get("workloads"), query=data.get("query"))
    if problems:
        raise Refused(problems)
    return data, workloads


class MoveGroupPrecheckView(APIView):
    @extend_schema(request=SelectionSerializer, responses={200: GroupPrecheckSerializer, 400: ErrorsSerializer})
    def post(self, request):
        data, workloads = _selection(SelectionSerializer, request)
        result = move_group_precheck(workloads=workloads, **move_options(data))
        return Response(result.as_dict())


class MoveGroupListCreateView(generics.ListAPIView):
    serializer_class = MoveGroupSerializer
    filter_backends: list = []

    def get_queryset(self):
        state = self.request.query_params.get("state", "")
        return selectors.move_group_list(state=state if state in MoveGroupState.values else "")

    @extend_schema(request=MoveGroupCreateSerializer, responses={201: MoveGroupDetailSerializer, 400: ErrorsSerializer})
    def post(self, request):
        data, workloads = _selection(MoveGroupCreateSerializer, request)
        group = move_group_create(
            name=data["name"],
            workloads=workloads,
            **move_options(data),
            concurrency=data["concurrency"],
            override_reason=data["override_reason"],
            leave_out_blocked=data["leave_out_blocked"],
            start_at=data["start_at"],
            window_start=data["window_start"],
            window_end=data["window_end"],
            on_window_close=data["on_window_close"],
            by=request.user,
        )
        group = selectors.move_group_list().get(pk=group.pk)
        return Response(MoveGroupDetailSerializer(group).data, status=status.HTTP_201_CREATED)


class MoveGroupDetailView(generics.RetrieveAPIView):
    serializer_class = MoveGroupDetailSerializer

    def get_queryset(self):
        return selectors.move_group_list()

    @extend_schema(
        request=MoveGroupScheduleSerializer, responses={200: MoveGroupDetailSerializer, 400: ErrorsSerializer}
    )
    def patch(self, request, pk: int):
        group = get_object_or_404(selectors.move_group_list(), pk=pk)
        serializer = MoveGroupScheduleSerializer(data=request.data)
        if not serializer.is_valid():
            raise Refused(error_sentences(serializer.errors))
        move_group_reschedule(group=group, by=request.user, **serializer.validated_data)
        return Response(MoveGroupDetailSerializer(selectors.move_group_list().get(pk=pk)).data)


class MoveGroupCancelView(APIView):
    @extend_schema(request=None, responses={200: MoveGroupDetailSerializer, 400: ErrorsSerializer})
    def post(self, request, pk: int):
        group = get_object_or_404(selectors.move_group_list(), pk=pk)
        move_group_cancel(group=group, by=request.user)
        return Response(MoveGroupDetailSerializer(selectors.move_group_list().get(pk=pk)).data)
