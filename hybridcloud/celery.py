import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hybridcloud.settings")

app = Celery("hybridcloud")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
