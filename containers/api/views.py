from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from containers import selectors
from containers.api.serializers import (
    ContainerClusterSerializer,
    ContainerCreateSerializer,
    ContainerEventSerializer,
    ContainerHostSerializer,
    ContainerSerializer,
    ImagePullSerializer,
    ImageSerializer,
    PodSerializer,
)
from containers.docker_api.parsing import parse_image_ref
from containers.models import ContainerHost, ContainerSpec, Image, Pod
from containers.services import create, images, kubernetes_import, lifecycle
from hybridcloud.core.refusals import Refused


class ContainerHostViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ContainerHostSerializer
    lookup_field = "name"
    lookup_value_regex = "[^/]+"
    search_fields = ["name", "endpoint"]

    def get_queryset(self):
        return selectors.container_host_list()


class ImageViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Image.objects.order_by("repository", "tag")
    serializer_class = ImageSerializer
    search_fields = ["repository", "tag"]

    @extend_schema(request=ImagePullSerializer, responses={201: ImageSerializer})
    def create(self, request, *args, **kwargs):
        """Pulls an image (simulated): {"image": "nginx:1.27"}."""
        body = ImagePullSerializer(data=request.data)
        if not body.is_valid():
            raise Refused.invalid(body.errors)
        repository, tag, _ = parse_image_ref(body.validated_data["image"])
        image = images.image_pull(repository=repository, tag=tag)
        return Response(ImageSerializer(image).data, status=status.HTTP_201_CREATED)


# A container-VM's primary key is its workload's id (ContainerSpec has no `id` field): say so in the schema.
_WORKLOAD_ID = extend_schema(
    parameters=[OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The workload id.")]
)


@extend_schema_view(
    retrieve=_WORKLOAD_ID, destroy=_WORKLOAD_ID, start=_WORKLOAD_ID, stop=_WORKLOAD_ID, restart=_WORKLOAD_ID,
    remove=_WORKLOAD_ID, events=_WORKLOAD_ID,
)  # fmt: skip
class ContainerViewSet(mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    """Container-VMs. POST takes a Docker-style body; start, stop, restart are actions; DELETE removes
    (?force=1 removes a running one)."""

    serializer_class = ContainerSerializer
    filterset_fields = ["container_host__name", "state"]
    search_fields = ["workload__name", "image__repository"]

    def get_queryset(self):
        return (
            ContainerSpec.objects.select_related(
                "workload__host__cluster__site", "workload__segment", "image", "container_host"
            )
            .prefetch_related("published_ports")
            .order_by("workload__name")
        )

    @extend_schema(request=ContainerCreateSerializer, responses={201: ContainerSerializer})
    def create(self, request, *args, **kwargs):
        body = ContainerCreateSerializer(data=request.data)
        if not body.is_valid():
            raise Refused.invalid(body.errors)
        data = body.validated_data
        if data.get("container_host"):
            container_host = ContainerHost.objects.filter(name=data["container_host"]).first()
            if container_host is None:
                raise Refused(f"No such container host: {data['container_host']}")
        else:
            hosts = list(ContainerHost.objects.all()[:2])
            if len(hosts) != 1:
                raise Refused("container_host: name the container host to run it on.")
            container_host = hosts[0]
        workload = create.container_create(
            container_host=container_host,
            name=data.get("name", ""),
            image_ref=data["image"],
            command=data.get("command"),
            env=data.get("env"),
            ports=data.get("ports"),
            cpus=data.get("cpus"),
            memory_bytes=data.get("memory"),
            restart_policy=data["restart_policy"],
            start=data["start"],
            user=request.user,
        )
        return Response(
            ContainerSerializer(self.get_queryset().get(workload=workload)).data, status=status.HTTP_201_CREATED
        )

    def destroy(self, request, *args, **kwargs):
        spec = self.get_object()
        force = request.query_params.get("force") in ("1", "true") or request.data.get("force") in (True, "1", "true")
        lifecycle.container_remove(workload=spec.workload, user=request.user, force=force)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _act(self, request, service):
        spec = self.get_object()
        service(workload=spec.workload, user=request.user)
        return Response(ContainerSerializer(self.get_queryset().get(pk=spec.pk)).data)

    @extend_schema(request=None, responses=ContainerSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        return self._act(request, lifecycle.container_start)

    @extend_schema(request=None, responses=ContainerSerializer)
    @action(detail=True, methods=["post"])
    def stop(self, request, pk=None):
        return self._act(request, lifecycle.container_stop)

    @extend_schema(request=None, responses=ContainerSerializer)
    @action(detail=True, methods=["post"])
    def restart(self, request, pk=None):
        return self._act(request, lifecycle.container_restart)

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["post"])
    def remove(self, request, pk=None):
        return self.destroy(request, pk=pk)

    @extend_schema(responses=ContainerEventSerializer(many=True))
    @action(detail=True, methods=["get"])
    def events(self, request, pk=None):
        spec = self.get_object()
        return Response(ContainerEventSerializer(selectors.container_events(spec.workload_id), many=True).data)


class ContainerClusterViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ContainerClusterSerializer
    lookup_field = "name"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return selectors.cluster_list()

    @extend_schema(request={"application/json": dict}, responses={200: dict})
    @action(detail=True, methods=["post"], url_path="import")
    def import_kubernetes(self, request, name=None):
        """Imports the JSON body `kubectl get nodes,pods -o json` printed; 400 {"errors"} and nothing changed when
        refused."""
        cluster = get_object_or_404(self.get_queryset(), name=name)
        report = kubernetes_import.cluster_import_kubernetes(cluster=cluster, document=request.body, user=request.user)
        return Response({**report.__dict__, "summary": report.summary()})


class PodViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = PodSerializer
    filterset_fields = ["cluster__name", "namespace", "phase"]
    search_fields = ["name", "namespace"]

    def get_queryset(self):
        return Pod.objects.select_related("cluster", "node").order_by("cluster__name", "namespace", "name")
