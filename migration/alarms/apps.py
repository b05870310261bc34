from django.apps import AppConfig


class AlarmsConfig(AppConfig):
    """Alarms: rules over telemetry, links, migrations and drills; the alarms they raise; e-mail and webhooks."""

    name = "migration.alarms"
    label = "alarms"
    verbose_name = "Alarms"
