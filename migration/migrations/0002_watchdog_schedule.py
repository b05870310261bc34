"""The migration watchdog runs every 15 seconds (beat reads its schedule from the database)."""

import json

from django.db import migrations

TASK = "migration.tasks.watchdog"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=15, period="seconds")
    PeriodicTask.objects.update_or_create(
        name="Migration watchdog",
        defaults={
            "task": TASK,
            "interval": every,
            "enabled": True,
            "kwargs": json.dumps({}),
            "description": "Resumes migrations whose worker died and starts queued ones when slots free.",
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name="Migration watchdog").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("migration", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
