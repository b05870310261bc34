import os

from celery import Celery
from celery.signals import worker_process_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hybridcloud.settings")

app = Celery("hybridcloud")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_process_shutdown.connect
def flush_held_activity(**kwargs) -> None:
    """A prefork child leaves with `os._exit`, so `atexit` (where `events.flush_activity` is registered) never runs
    in it: the activity items it holds (up to `ACTIVITY_WINDOW_S` of them) leave before it does."""
    from hybridcloud.core import events

    events.flush_activity()
