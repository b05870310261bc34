from django.apps import AppConfig


class AssessmentConfig(AppConfig):
    """Migration assessment: what moving a set of workloads to another site would take, over a given link."""

    name = "migration.assessment"
    label = "assessment"
    verbose_name = "Migration assessment"
