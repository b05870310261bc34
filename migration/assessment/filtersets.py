"""Filters for the assessments list: `?q=TEXT&status=&destination=ID&ordering=KEY`."""

import django_filters

from hybridcloud.core.filtersets import SearchFilterSet, StableOrderingFilter
from inventory.models import Site
from migration.assessment.choices import AssessmentStatus
from migration.assessment.models import Assessment


class AssessmentFilterSet(SearchFilterSet):
    """`q` matches the assessment's name, its scope or its destination; without `ordering`, newest first."""

    search_fields = ("name", "scope_label", "destination__name")
    status = django_filters.ChoiceFilter(choices=AssessmentStatus.choices, empty_label="Any status")
    destination = django_filters.ModelChoiceFilter(
        queryset=Site.objects.only("id", "name").order_by("name"), empty_label="Any destination"
    )
    ordering = StableOrderingFilter(
        fields={"pk": "id", "name": "assessment", "destination__name": "destination", "bandwidth_mbit": "link",
                "compression_ratio": "compression", "status": "status", "created_at": "created"},
        tiebreak="-pk",
    )  # fmt: skip

    class Meta:
        model = Assessment
        fields = ["q", "status", "destination"]
