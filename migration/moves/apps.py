from django.apps import AppConfig


class MovesConfig(AppConfig):
    """Move groups: many workloads moved as one wave under a concurrency cap, started now or at a time, their
    switchovers held for a maintenance window."""

    name = "migration.moves"
    label = "moves"
    verbose_name = "Move groups"

    def ready(self) -> None:
        from migration import driver
        from migration.moves.selectors import switchover_verdicts
        from migration.moves.tasks import feed_groups_of

        driver.register_switchover_gate(switchover_verdicts)
        driver.register_migration_end_hook(feed_groups_of)
