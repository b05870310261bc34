from django.apps import AppConfig


def container_panel(request, workload):
    """The container side of a container-VM, on the inventory's workload page."""
    if not workload.is_container_vm:
        return None
    from containers.models import ContainerSpec

    spec = (
        ContainerSpec.objects.select_related("image", "container_host")
        .prefetch_related("published_ports")
        .filter(workload=workload)
        .first()
    )
    return {"spec": spec} if spec else None


class ContainersConfig(AppConfig):
    name = "containers"
    verbose_name = "Containers"

    def ready(self) -> None:
        try:
            from inventory.panels import register_workload_panel
        except ImportError:  # the inventory app has no panel registry
            return
        register_workload_panel("containers/_workload_panel.html", container_panel, order=10)
