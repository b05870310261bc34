"""Filters for the alarms page: `?state=open|active|acknowledged|cleared&severity=&q=TEXT&ordering=KEY`."""

import django_filters
from django.db.models import QuerySet

from hybridcloud.core.filtersets import SearchFilterSet, StableOrderingFilter, on_off_filter
from migration.alarms.choices import OPEN_STATES, AlarmState, Channel, DeliveryStatus, Severity
from migration.alarms.models import Alarm, AlarmRule, Delivery, WebhookEndpoint


class AlarmFilterSet(SearchFilterSet):
    """Without `ordering`, open alarms first (active, then acknowledged; the most severe first), then the history."""

    search_fields = ("message", "object_name", "rule__name")
    state = django_filters.ChoiceFilter(
        choices=[("open", "Open (active or acknowledged)"), *AlarmState.choices], method="filter_state",
        empty_label="All",
    )  # fmt: skip
    severity = django_filters.ChoiceFilter(choices=Severity.choices, empty_label="Any severity")
    ordering = StableOrderingFilter(
        fields={"severity_rank": "severity", "state_rank": "state", "message": "alarm", "rule__name": "rule",
                "first_seen": "first_seen", "last_seen": "last_seen"},
        tiebreak="-pk",
    )  # fmt: skip

    class Meta:
        model = Alarm
        fields = ["state", "severity", "q"]

    def filter_state(self, queryset: QuerySet[Alarm], name: str, value: str) -> QuerySet[Alarm]:
        return queryset.filter(state__in=OPEN_STATES) if value == "open" else queryset.filter(state=value)


class AlarmRuleFilterSet(django_filters.FilterSet):
    """The rules page: `?q=NAME&severity=&enabled=&ordering=KEY` (by name unless told)."""

    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains", label="Search")
    severity = django_filters.ChoiceFilter(choices=Severity.choices, empty_label="Any severity")
    enabled = on_off_filter()
    ordering = StableOrderingFilter(fields={"name": "rule", "severity_rank": "severity", "enabled": "enabled"})

    class Meta:
        model = AlarmRule
        fields = ["q", "severity", "enabled"]


class DeliveryFilterSet(SearchFilterSet):
    """The delivery log: `?q=TEXT&status=&channel=&ordering=KEY` (newest first unless told); the search looks in the
    endpoint's name and the e-mail addresses."""

    search_fields = ("endpoint__name", "recipients")
    status = django_filters.ChoiceFilter(choices=DeliveryStatus.choices, empty_label="Any status")
    channel = django_filters.ChoiceFilter(choices=Channel.choices, empty_label="Any channel")
    ordering = StableOrderingFilter(
        fields={"created_at": "created", "alarm_id": "alarm", "channel": "channel", "status": "status",
                "attempts": "attempts", "next_retry_at": "next_retry"},
        tiebreak="-pk",
    )  # fmt: skip

    class Meta:
        model = Delivery
        fields = ["q", "status", "channel"]


class WebhookEndpointFilterSet(SearchFilterSet):
    """The webhook endpoints (under the `endpoints-` prefix on the webhooks page): `?endpoints-q=TEXT&endpoints-enabled=
    &endpoints-ordering=KEY` (by name unless told); the search looks in the name and the URL."""

    search_fields = ("name", "url")
    enabled = on_off_filter()
    ordering = StableOrderingFilter(
        fields={"name": "endpoint", "url": "url", "max_attempts": "retries", "enabled": "enabled"}
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["q", "enabled"]
