"""Predicted against actual: stored on the row, shown on the migration's page and across migrations on the
calibration page (how often the actual fell in the range, the error distribution)."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from migration.models import Migration
from migration.selectors import migration_calibration
from migration.services import migration_start
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def topo():
    return factories.topology()


def finished(topo, predicted: float, low: float, high: float, actual: float) -> Migration:
    vm = factories.workload(topo.ca_hosts[0])
    m = migration_start(workload=vm, destination_host=topo.ca_hosts[1])
    Migration.objects.filter(pk=m.pk).update(
        state="completed", outcome="converged", total_time_s=actual,
        finished_at=timezone.now() + timedelta(seconds=m.pk), predicted_total_time_s=predicted,
        predicted_p10_s=low, predicted_p90_s=high, rate_limit="link",
    )  # fmt: skip
    return Migration.objects.get(pk=m.pk)


def test_a_start_stores_the_best_estimate_and_its_range_on_the_row(topo):
    vm = factories.workload(topo.ca_hosts[0], memory_gib=8)
    m = migration_start(workload=vm, destination_host=topo.ca_hosts[1])
    assert m.predicted_total_time_s == m.prediction["total_time_s"] > 0
    assert m.predicted_p10_s <= m.predicted_total_time_s <= m.predicted_p90_s
    assert m.prediction_error is None and m.within_predicted_range is None


def test_calibration_counts_the_range_hits_and_the_errors(topo):
    for actual in (95.0, 105.0, 120.0, 80.0):
        finished(topo, 100.0, 90.0, 110.0, actual)
    factories.workload(topo.ca_hosts[0])  # a running one does not count
    migration_start(workload=factories.workload(topo.ca_hosts[0]), destination_host=topo.ca_hosts[1])
    c = migration_calibration()
    assert (c["count"], c["inside"], c["inside_share"]) == (4, 2, 0.5)
    assert c["median_abs_error"] == pytest.approx(0.125)
    assert c["median_width"] == pytest.approx(0.2)
    assert sorted(c["errors"]) == pytest.approx([-0.2, -0.05, 0.05, 0.2])


def test_calibration_page_shows_share_in_range_errors_and_histogram_data(viewer_client, topo):
    for actual in (95.0, 105.0, 120.0, 80.0):
        finished(topo, 100.0, 90.0, 110.0, actual)
    listing = viewer_client.get("/migrations/").content.decode()
    assert 'id="calibration-link" href="/migrations/calibration/"' in listing
    response = viewer_client.get("/migrations/calibration/")
    assert response.status_code == 200
    body = response.content.decode()
    assert '<span class="value" id="cal-inside">50 %</span>' in body
    assert '<span class="value" id="cal-error">12.5 %</span>' in body
    assert '<span class="value" id="cal-width">20.0 %</span>' in body
    assert 'id="error-histogram"' in body and "vendor/plotly/plotly.min.js" in body
    assert "cdn" not in body.lower()
    start = body.index('<script id="calibration-errors" type="application/json">') + len(
        '<script id="calibration-errors" type="application/json">'
    )
    assert sorted(json.loads(body[start : body.index("</script>", start)])) == [-20.0, -5.0, 5.0, 20.0]
    assert body.count('data-inside="true"') == 2 and body.count('data-inside="false"') == 2


def test_calibration_page_without_finished_migrations_says_so(viewer_client, topo):
    body = viewer_client.get("/migrations/calibration/").content.decode()
    assert 'id="calibration-empty"' in body and "plotly" not in body


def test_migration_page_carries_the_prediction_its_range_and_the_actual(viewer_client, topo):
    m = finished(topo, 100.0, 90.0, 110.0, 120.0)
    body = viewer_client.get(f"/migrations/{m.pk}/").content.decode()
    assert 'id="pred-range"' in body and 'id="act-error"' in body and 'id="act-verdict"' in body
    start = body.index('<script id="migration-snapshot" type="application/json">')
    snapshot = json.loads(body[body.index(">", start) + 1 : body.index("</script>", start)])
    assert (snapshot["predicted_total_time_s"], snapshot["predicted_p10_s"], snapshot["predicted_p90_s"]) == (
        100.0, 90.0, 110.0,
    )  # fmt: skip
    assert snapshot["total_time_s"] == 120.0 and snapshot["rate_limit"] == "link"
    assert m.prediction_error == pytest.approx(0.2) and m.within_predicted_range is False
