"""The one search rule every list's `?q=` box shares (hybridcloud.core.filtersets.SearchFilterSet): blank text filters
nothing, otherwise a row is kept when any of `search_fields` contains the text, whatever its case."""

import django_filters
import pytest

from hybridcloud.core.filtersets import SearchFilterSet
from inventory.choices import SiteKind
from inventory.models import Cluster, Site
from tests import factories


class ClusterSearch(SearchFilterSet):
    search_fields = ("name", "site__name", "site__provider")

    class Meta:
        model = Cluster
        fields = ["q"]


class LabelledSiteSearch(SearchFilterSet):
    search_fields = ("name",)
    q = django_filters.CharFilter(method="filter_search", label="Site name")

    class Meta:
        model = Site
        fields = ["q"]


@pytest.fixture
def clusters(db):
    palo_alto = factories.site("Palo Alto")
    ashburn = factories.site("Ashburn", kind=SiteKind.PUBLIC, lon=-77.5)  # provider "AWS"
    factories.cluster(palo_alto, "Gold")
    factories.cluster(ashburn, "Silver")
    factories.cluster(ashburn, "Bronze")


def names(q: str | None) -> list[str]:
    data = {} if q is None else {"q": q}
    filterset = ClusterSearch(data, queryset=Cluster.objects.order_by("name"))
    assert filterset.is_valid(), filterset.errors
    return [cluster.name for cluster in filterset.qs]


@pytest.mark.parametrize("q", [None, "", " ", "  \t "])
def test_blank_or_whitespace_only_q_returns_every_row(clusters, q):
    assert names(q) == ["Bronze", "Gold", "Silver"]


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("gOLD", ["Gold"]),  # the row's own field
        ("  silv ", ["Silver"]),  # surrounding spaces ignored
        ("PALO", ["Gold"]),  # a related field
        ("ashburn", ["Bronze", "Silver"]),
        ("aws", ["Bronze", "Silver"]),  # the third field
        ("o", ["Bronze", "Gold"]),  # "o" in Bronze and Gold, and in no field of Silver's row (Ashburn, AWS)
        ("nowhere", []),
    ],
)
def test_q_matches_any_field_case_insensitively(clusters, q, found):
    assert names(q) == found


def test_the_default_label_and_a_subclass_that_keeps_its_own(clusters):
    assert ClusterSearch().filters["q"].label == "Search"
    labelled = LabelledSiteSearch({"q": "palo"}, queryset=Site.objects.all())
    assert labelled.filters["q"].label == "Site name"
    assert labelled.form.fields["q"].label == "Site name"
    assert [site.name for site in labelled.qs] == ["Palo Alto"]


def test_a_filterset_with_no_search_fields_filters_nothing_rather_than_failing(clusters):
    class NoFields(SearchFilterSet):
        class Meta:
            model = Cluster
            fields = ["q"]

    assert NoFields({"q": "gold"}, queryset=Cluster.objects.all()).qs.count() == 3
