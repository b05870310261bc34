"""The rules are evaluated every minute (beat reads its schedule from the database; change it in the admin), and a
sensible default rule set to start from (admins edit or disable them on the alarm rules page)."""

from django.db import migrations

TASK = "migration.alarms.tasks.evaluate"
NAME = "Alarm evaluation"

DEFAULT_RULES = [
    # name, kind, threshold, duration_minutes, drills_count, severity, description
    ("Host CPU over 90 % for 15 min", "host_cpu", 90, 15, 3, "critical", "A host that stays this hot slows every workload on it."),
    ("Host memory over 90 % for 15 min", "host_memory", 90, 15, 3, "warning", "Memory that full leaves no room to move workloads in."),
    ("Link packet loss over 1 %", "link_loss", 1, 0, 3, "warning", "Loss caps a TCP stream's rate (Mathis): long moves slow down."),
    ("Link busy with migrations over 90 %", "link_utilisation", 90, 0, 3, "info", "Migrations share the link; more of them queue."),
    ("Migration failed", "migration_failed", None, 0, 3, "warning", "The workload stayed on its source."),
    ("Drill missed its RTO", "drill_rto_missed", None, 0, 3, "critical", "A real disaster would take longer than promised."),
    ("RTO worsening by 20 % over 3 drills", "rto_trend", 20, 0, 3, "warning", "The plan is drifting towards its target."),
    ("RPO violated in a drill", "rpo_violated", None, 0, 3, "critical", "A real disaster would lose more data than promised."),
    ("Container host over 90 % of its limits", "container_host_limits", 90, 0, 3, "warning", "New containers will be refused."),
]


def create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    PeriodicTask.objects.update_or_create(
        name=NAME,
        defaults={
            "task": TASK,
            "interval": every,
            "enabled": True,
            "description": "Evaluates the alarm rules: raises, refreshes and resolves alarms; resumes lost deliveries.",
        },
    )
    AlarmRule = apps.get_model("alarms", "AlarmRule")
    for name, kind, threshold, minutes, drills, severity, description in DEFAULT_RULES:
        AlarmRule.objects.get_or_create(
            name=name,
            defaults={
                "kind": kind,
                "threshold": threshold,
                "duration_minutes": minutes,
                "drills_count": drills,
                "severity": severity,
                "description": description,
            },
        )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()
    apps.get_model("alarms", "AlarmRule").objects.filter(name__in=[r[0] for r in DEFAULT_RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("alarms", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
