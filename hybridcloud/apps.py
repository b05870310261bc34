from django.apps import AppConfig


class HybridCloudConfig(AppConfig):
    name = "hybridcloud"
    verbose_name = "HybridCloud platform"
