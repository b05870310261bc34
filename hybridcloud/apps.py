from django.apps import AppConfig


class CompositionRootConfig(AppConfig):
    """The composition root: installed only so that Django finds its `run` management command."""

    name = "hybridcloud"
    label = "composition_root"
    verbose_name = "HybridCloud composition root"
