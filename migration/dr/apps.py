from django.apps import AppConfig


class DrConfig(AppConfig):
    """Disaster recovery: recovery plans and drills. Part of the migration package (drills run on its engine)."""

    name = "migration.dr"
    label = "dr"
    verbose_name = "Disaster recovery"
