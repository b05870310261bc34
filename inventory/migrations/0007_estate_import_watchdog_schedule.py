"""The estate import watchdog runs every minute (beat reads its schedule from the database)."""

import json

from django.db import migrations

TASK = "inventory.tasks.estate_import_watchdog"
NAME = "Estate import watchdog"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    PeriodicTask.objects.update_or_create(
        name=NAME,
        defaults={
            "task": TASK,
            "interval": every,
            "enabled": True,
            "kwargs": json.dumps({}),
            "description": "Re-queues RVTools imports whose worker died (they ran in one transaction, so nothing "
            "half-written remains).",
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("inventory", "0006_estate_import_draft"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
