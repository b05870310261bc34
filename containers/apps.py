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


def push_workload_change(sender, *, workload_id=None, action: str = "", **kwargs) -> None:
    """A container-VM changed (sent on commit): hint the live pages on the activity channel."""
    from migration.progress import publish_workload_change

    publish_workload_change(workload_id=workload_id, action=action)


class ContainersConfig(AppConfig):
    name = "containers"
    verbose_name = "Containers"

    def ready(self) -> None:
        from containers.signals import container_changed

        container_changed.connect(push_workload_change, dispatch_uid="containers.push_workload_change")
        try:
            from inventory.panels import register_workload_panel
        except ImportError:  # the inventory app has no panel registry
            return
        register_workload_panel("containers/_workload_panel.html", container_panel, order=10)
