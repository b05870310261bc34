"""What the containers app plugs into the layers below it (wired in ContainersConfig.ready()): the container
panel on inventory's workload page, and the activity hint pushed when a container-VM changes."""

from containers.models import ContainerSpec
from migration.progress import publish_workload_change


def container_panel(request, workload):
    """The container side of a container-VM, on the inventory's workload page."""
    if not workload.is_container_vm:
        return None
    spec = (
        ContainerSpec.objects.select_related("image", "container_host")
        .prefetch_related("published_ports")
        .filter(workload=workload)
        .first()
    )
    return {"spec": spec} if spec else None


def push_workload_change(sender, *, workload_id=None, action: str = "", **kwargs) -> None:
    """A container-VM changed (sent on commit): hint the live pages on the activity channel."""
    publish_workload_change(workload_id=workload_id, action=action)
