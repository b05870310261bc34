"""The move groups' tick runs every 5 seconds (beat reads its schedule from the database): it starts scheduled
groups whose time has come (each exactly once) and feeds running groups under their caps."""

import json

from django.db import migrations

TASK = "migration.moves.tasks.move_groups_tick"
NAME = "Move groups: start due groups, feed running ones"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=5, period="seconds")
    PeriodicTask.objects.update_or_create(
        name=NAME,
        defaults={
            "task": TASK,
            "interval": every,
            "enabled": True,
            "kwargs": json.dumps({}),
            "description": "Starts each scheduled move group once at its time (idempotency key) and starts the next "
            "members of running groups under their concurrency caps.",
        },
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("moves", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
