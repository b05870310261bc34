from django.db import migrations


def create_settings_row(apps, schema_editor):
    CapacitySettings = apps.get_model("capacity", "CapacitySettings")
    CapacitySettings.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    """The one settings row (thresholds, sampling, retention) with its defaults, so the admin lists it."""

    dependencies = [("capacity", "0002_sampling_schedule")]
    operations = [migrations.RunPython(create_settings_row, migrations.RunPython.noop)]
