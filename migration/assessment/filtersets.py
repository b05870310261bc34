"""Filters for the assessments list: `?q=TEXT&status=&destination=ID&ordering=KEY`."""

import django_filters
from django.db.models import Q, QuerySet

from hybridcloud.core.filtersets import StableOrderingFilter
from inventory.models import Site
from migration.assessment.choices import AssessmentStatus
from migration.assessment.models import Assessment


class AssessmentFilterSet(django_filters.FilterSet):
    """`q` matches the assessment's name, its scope or its destination; without `ordering`, newest first."""

    q = django_filters.CharFilter(method="filter_search", label="Search")
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

    def filter_search(self, queryset: QuerySet[Assessment], name: str, value: str) -> QuerySet[Assessment]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(name__icontains=value) | Q(scope_label__icontains=value) | Q(destination__name__icontains=value)
        )
