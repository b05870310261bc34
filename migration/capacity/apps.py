from django.apps import AppConfig


class CapacityConfig(AppConfig):
    """Capacity: utilisation telemetry, charts, burst-to-cloud recommendations, maintenance and evacuation."""

    name = "migration.capacity"
    label = "capacity"
    verbose_name = "Capacity"
