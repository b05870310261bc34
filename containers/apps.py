from django.apps import AppConfig


class ContainersConfig(AppConfig):
    name = "containers"
    verbose_name = "Containers"

    def ready(self) -> None:
        from containers.receivers import container_panel, push_workload_change
        from containers.services.events import on_workload_moved
        from containers.signals import container_changed
        from inventory.panels import register_workload_panel
        from migration.signals import workload_moved

        container_changed.connect(push_workload_change, dispatch_uid="containers.push_workload_change")
        workload_moved.connect(on_workload_moved, dispatch_uid="containers.on_workload_moved")
        register_workload_panel("containers/_workload_panel.html", container_panel, order=10)
