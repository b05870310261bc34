"""Filters every list shares (a sort with a tiebreak, the `q` search box) and the audit trail's, shared by the audit
page and `/api/audit/`."""

import operator
from functools import reduce

import django_filters
from django import forms
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q, QuerySet

from hybridcloud.core.models import AuditEntry, AuditVia


class StableOrderingFilter(django_filters.OrderingFilter):
    """Sorts by the chosen column, then by `tiebreak` (name unless told), so that pages never shuffle rows."""

    def __init__(self, *args, tiebreak: str = "name", **kwargs):
        self.tiebreak = tiebreak
        super().__init__(*args, **kwargs)

    def filter(self, qs: QuerySet, value):
        qs = super().filter(qs, value)
        ordering = list(qs.query.order_by)
        if ordering and not any(field.lstrip("-") == self.tiebreak.lstrip("-") for field in ordering):
            qs = qs.order_by(*ordering, self.tiebreak)
        return qs


class SearchFilterSet(django_filters.FilterSet):
    """A list's search box: `?q=TEXT` keeps the rows where any of `search_fields` contains the text
    (case-insensitive, surrounding spaces ignored); blank text filters nothing."""

    search_fields: tuple[str, ...] = ()
    q = django_filters.CharFilter(method="filter_search", label="Search")

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value or not self.search_fields:
            return queryset
        return queryset.filter(
            reduce(operator.or_, (Q(**{f"{field}__icontains": value}) for field in self.search_fields))
        )


_DATE = forms.DateInput(attrs={"type": "date"})


def on_off_filter(*, on: str = "Enabled", off: str = "Disabled", either: str = "Enabled or not"):
    """A yes/no filter whose menu says what it filters ("Enabled", "Disabled"), not django's "Unknown/Yes/No"."""
    choices = [("", either), ("true", on), ("false", off)]
    return django_filters.BooleanFilter(label=on, widget=forms.Select(choices=choices))


def audited_types(request=None):
    """Only the content types that appear in the trail (one small query)."""
    ids = AuditEntry.objects.exclude(object_type=None).values("object_type").distinct()
    return ContentType.objects.filter(pk__in=ids).order_by("app_label", "model")


class AuditEntryFilterSet(django_filters.FilterSet):
    actor = django_filters.CharFilter(field_name="actor_label", lookup_expr="iexact", label="Actor (username)")
    action = django_filters.CharFilter(
        method="filter_action", label='Action (e.g. "migration.start" or "migration")',
        widget=forms.TextInput(attrs={"list": "audit-actions"}),
    )  # fmt: skip
    object_type = django_filters.ModelChoiceFilter(queryset=audited_types, label="Object type")
    object_id = django_filters.CharFilter(field_name="object_id", label="Object id")
    via = django_filters.ChoiceFilter(choices=AuditVia.choices)
    since = django_filters.DateFilter(field_name="at", lookup_expr="date__gte", label="From (date)", widget=_DATE)
    until = django_filters.DateFilter(field_name="at", lookup_expr="date__lte", label="To (date)", widget=_DATE)
    search = django_filters.CharFilter(method="filter_search", label="Search")
    ordering = StableOrderingFilter(
        fields={"at": "at", "actor_label": "actor", "action": "action", "via": "via"}, tiebreak="-pk"
    )

    class Meta:
        model = AuditEntry
        fields = ["actor", "action", "object_type", "object_id", "via", "since", "until", "search"]

    def filter_action(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        if "." in value:
            return queryset.filter(action=value)
        return queryset.filter(action__startswith=value + ".")

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(object_repr__icontains=value)
            | Q(message__icontains=value)
            | Q(actor_label__icontains=value)
            | Q(action__icontains=value)
            | Q(source_ip__icontains=value)
        )
