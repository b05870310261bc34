from django.apps import AppConfig


class CapacityConfig(AppConfig):
    """Capacity: utilisation telemetry, charts, burst-to-cloud recommendations, maintenance and evacuation."""

    name = "migration.capacity"
    label = "capacity"
    verbose_name = "Capacity"

    def ready(self) -> None:
        from inventory.overview import CARDS, register_overview_card
        from migration.capacity.selectors import evacuation_host_refusal, overview_hot_hosts
        from migration.prechecks import register_host_refusal

        # Below the overview's capacity charts: the hosts above the threshold and the last day's heat map.
        register_overview_card(
            "capacity/_overview_card.html",
            lambda request: {"capacity_card": overview_hot_hosts()},
            slot=CARDS,
            order=10,
            scripts=("js/capacity/overview_heatmap.js",),
        )

        # A host being emptied takes no new workload: the pre-checks refuse it (and placement passes over it).
        register_host_refusal("capacity.evacuation", evacuation_host_refusal)
