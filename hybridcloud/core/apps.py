from django.apps import AppConfig


class CoreConfig(AppConfig):
    # The label stays "hybridcloud": the audit table and its migrations keep their names.
    name = "hybridcloud.core"
    label = "hybridcloud"
    verbose_name = "HybridCloud platform"
