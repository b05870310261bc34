from django.apps import AppConfig


class CompositionRootConfig(AppConfig):
    """The composition root: installed so that Django finds its `run` management command, and loads the Celery app
    when it starts, so that `@shared_task` binds to it in every process (web, ASGI, management commands)."""

    name = "hybridcloud"
    label = "composition_root"
    verbose_name = "HybridCloud composition root"

    def ready(self) -> None:
        from hybridcloud import celery  # noqa: F401 - loading the app is the point
