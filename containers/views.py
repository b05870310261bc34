from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from containers import selectors
from containers.docker_api.parsing import parse_image_ref
from containers.filtersets import (
    ContainerClusterFilterSet,
    ContainerHostFilterSet,
    ContainerSpecFilterSet,
    ImageFilterSet,
    PodFilterSet,
)
from containers.forms import ContainerCreateForm, ImagePullForm, KubernetesImportForm, PodRescheduleForm
from containers.models import ContainerCluster, ContainerSpec, Pod
from containers.services import create, images, kubernetes_import, lifecycle, pods
from containers.services.pods import POD_CANNOT_MOVE_LIVE
from containers.services.refusals import ContainerRefused
from containers.tables import ContainerClusterTable, ContainerHostTable, ContainerSpecTable, ImageTable, PodTable
from hybridcloud.core.lists import list_response, table_list
from hybridcloud.core.views import operator_required, require_operator

ACTIONS = {
    "start": lifecycle.container_start,
    "stop": lifecycle.container_stop,
    "restart": lifecycle.container_restart,
}


def index(request):
    lists = [
        table_list(request, queryset=selectors.container_host_list(), filterset_class=ContainerHostFilterSet,
                   table_class=ContainerHostTable, prefix="hosts"),
        table_list(request, queryset=selectors.cluster_list(), filterset_class=ContainerClusterFilterSet,
                   table_class=ContainerClusterTable, prefix="clusters"),
        table_list(request, queryset=selectors.image_list(), filterset_class=ImageFilterSet, table_class=ImageTable,
                   prefix="images"),
    ]  # fmt: skip
    if export := list_response(request, lists):
        return export
    hosts, clusters, images = lists
    return render(
        request,
        "containers/index.html",
        {"hosts": hosts, "clusters": clusters, "images": images, "pull_form": ImagePullForm()},
    )


@require_POST
@operator_required
def image_pull(request):
    form = ImagePullForm(request.POST)
    if form.is_valid():
        repository, tag, _ = parse_image_ref(form.cleaned_data["reference"])
        try:
            image = images.image_pull(repository=repository, tag=tag)
            messages.success(request, f"Pulled {image.reference} ({image.short_id}).")
        except ContainerRefused as exc:
            messages.error(request, exc.messages[0])
    return redirect("containers:index")


def host_detail(request, name: str):
    container_host = get_object_or_404(selectors.container_host_list(), name=name)
    form = ContainerCreateForm()
    if request.method == "POST":
        require_operator(request)
        form = ContainerCreateForm(request.POST)
        if form.is_valid():
            try:
                workload = create.container_create(
                    container_host=container_host, user=request.user, **form.service_arguments()
                )
            except ContainerRefused as exc:
                form.add_error(None, exc.messages[0])
            else:
                messages.success(
                    request, f"Created container-VM {workload.name} on {workload.host.name} ({workload.ip_address})."
                )
                return redirect("containers:container_detail", pk=workload.pk)
    containers = table_list(
        request, queryset=selectors.containers_of_host(container_host), filterset_class=ContainerSpecFilterSet,
        table_class=ContainerSpecTable,
    )  # fmt: skip
    if export := list_response(request, [containers]):
        return export
    return render(
        request,
        "containers/host_detail.html",
        {"container_host": container_host, "containers": containers, "form": form},
    )


@require_POST
@operator_required
def container_action(request, pk: int, action: str):
    spec = get_object_or_404(ContainerSpec.objects.select_related("workload", "container_host"), workload_id=pk)
    workload = spec.workload
    try:
        if action == "remove":
            lifecycle.container_remove(workload=workload, user=request.user, force=request.POST.get("force") == "1")
            messages.success(request, f"Removed container-VM {workload.name}.")
            return redirect("containers:host_detail", name=spec.container_host.name)
        if action not in ACTIONS:
            raise Http404("No such action.")
        ACTIONS[action](workload=workload, user=request.user)
        messages.success(request, f"{workload.name}: {action} done.")
    except ContainerRefused as exc:
        messages.error(request, exc.messages[0])
    return redirect(_safe_next(request) or spec.get_absolute_url())


def _safe_next(request) -> str | None:
    """Where a button on a list page sends the user back to: a path on this site only."""
    target = request.POST.get("next", "")
    return target if target.startswith("/") and not target.startswith("//") else None


def container_detail(request, pk: int):
    try:
        spec = selectors.container_detail(pk)
    except ContainerSpec.DoesNotExist:
        raise Http404("No container-VM with this id.") from None
    return render(
        request,
        "containers/container_detail.html",
        {
            "spec": spec,
            "workload": spec.workload,
            "events": selectors.container_events(pk),
            "migrating": lifecycle.active_migration_of(spec.workload),
        },
    )


def cluster_detail(request, name: str):
    cluster = get_object_or_404(ContainerCluster.objects.select_related("site", "segment"), name=name)
    form = KubernetesImportForm()
    report = None
    if request.method == "POST":
        require_operator(request)
        form = KubernetesImportForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                report = kubernetes_import.cluster_import_kubernetes(
                    cluster=cluster, document=form.cleaned_data["document"].read(), user=request.user
                )
            except ContainerRefused as exc:
                form.add_error("document", f"Import refused, nothing changed: {exc.messages[0]}")
            else:
                messages.success(request, f"Imported. {report.summary()}")
                return redirect("containers:cluster_detail", name=cluster.name)
    pods = table_list(
        request, queryset=selectors.cluster_pods(cluster), filterset_class=PodFilterSet, table_class=PodTable
    )
    if export := list_response(request, [pods]):
        return export
    return render(
        request,
        "containers/cluster_detail.html",
        {"cluster": cluster, "nodes": selectors.cluster_nodes(cluster), "pods": pods, "form": form},
    )


def pod_detail(request, pk: int):
    pod = get_object_or_404(Pod.objects.select_related("cluster__site", "node__workload"), pk=pk)
    form = PodRescheduleForm(pod=pod)
    if request.method == "POST":
        require_operator(request)
        form = PodRescheduleForm(request.POST, pod=pod)
        if form.is_valid():
            try:
                pods.pod_reschedule(pod=pod, node=form.cleaned_data["node"], user=request.user)
            except ContainerRefused as exc:
                form.add_error(None, exc.messages[0])
            else:
                messages.success(request, f"Rescheduled {pod} on {form.cleaned_data['node'].name} (cold move).")
                return redirect("containers:pod_detail", pk=pod.pk)
    return render(
        request,
        "containers/pod_detail.html",
        {
            "pod": pod,
            "form": form,
            "events": pod.events.select_related("user")[:50],
            "cannot_move_live": POD_CANNOT_MOVE_LIVE,
        },
    )
