from django.apps import AppConfig


class MigrationConfig(AppConfig):
    name = "migration"
    verbose_name = "Live migration and disaster recovery"

    def ready(self) -> None:
        from inventory.removal import register_workload_removal_guard
        from inventory.usage import register_host_reservations
        from migration.models import Migration
        from migration.selectors import incoming_reservations

        def active_migrations(workload_ids):
            """A workload being moved may not leave the inventory (an import that no longer lists it is refused)."""
            rows = (
                Migration.objects.active()
                .filter(workload_id__in=list(workload_ids))
                .values("pk", "workload_id", "state")
            )
            return {r["workload_id"]: f"migration #{r['pk']} is {r['state']}" for r in rows}

        register_workload_removal_guard("migration.active", active_migrations)
        # A live move holds its workload's memory and vCPUs on its destination until it ends.
        register_host_reservations("migration.incoming", incoming_reservations)
