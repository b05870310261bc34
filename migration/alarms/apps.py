from django.apps import AppConfig


class AlarmsConfig(AppConfig):
    """Alarms: rules over telemetry, links, migrations and drills; the alarms they raise; e-mail and webhooks."""

    name = "migration.alarms"
    label = "alarms"
    verbose_name = "Alarms"

    def ready(self) -> None:
        # The activity panel's snapshot lists active alarms too (a page load or a resync keeps them).
        from migration import selectors as migration_selectors
        from migration.alarms.selectors import active_alarm_items

        if active_alarm_items not in migration_selectors.ACTIVITY_SNAPSHOT_SOURCES:
            migration_selectors.ACTIVITY_SNAPSHOT_SOURCES.append(active_alarm_items)
