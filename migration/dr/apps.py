from django.apps import AppConfig


class DrConfig(AppConfig):
    """Disaster recovery: recovery plans and drills. Part of the migration package (drills run on its engine)."""

    name = "migration.dr"
    label = "dr"
    verbose_name = "Disaster recovery"

    def ready(self) -> None:
        from inventory.overview import ALERTS, register_overview_card
        from migration.dr.selectors import failed_drill_alerts

        # Above the overview's figures: each plan whose latest drill missed its target.
        register_overview_card(
            "dr/_overview_alerts.html", lambda request: {"dr_alerts": failed_drill_alerts()}, slot=ALERTS, order=10
        )
