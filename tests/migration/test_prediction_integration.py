"""End to end with a real Redis and a real Celery worker: the prediction made before the start and the run through
the varying world are both stored on the row and both shown (the migration's page, the API, the calibration)."""

import json
import time

import pytest
from django.test import Client

from migration.models import Migration
from migration.services import migration_start
from tests import factories
from tests.conftest import make_user

pytestmark = pytest.mark.integration


def wait_for(predicate, timeout=30.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s")


def test_a_worker_runs_the_move_through_the_world_and_the_pages_show_predicted_against_actual(celery_worker, settings):
    settings.SIMULATION_SPEED = 50
    topo = factories.topology()
    vm = factories.workload(topo.ca_hosts[0], memory_gib=16, dirty_rate_bps=120_000_000)
    m = migration_start(workload=vm, destination_host=topo.ca_hosts[1])
    assert m.predicted_p10_s <= m.predicted_total_time_s <= m.predicted_p90_s
    done = wait_for(lambda: Migration.objects.filter(pk=m.pk, state="completed").first(), timeout=60)
    assert done.total_time_s > 0 and done.predicted_total_time_s == m.predicted_total_time_s
    assert done.total_time_s != pytest.approx(done.predicted_total_time_s, rel=1e-4), "not the prediction replayed"
    assert abs(done.prediction_error) < 0.3
    assert done.rate_limit and done.rate_limit_sentence

    client = Client()
    client.force_login(make_user("vera", group="viewers"))
    page = client.get(f"/migrations/{m.pk}/").content.decode()
    start = page.index('<script id="migration-snapshot" type="application/json">')
    snapshot = json.loads(page[page.index(">", start) + 1 : page.index("</script>", start)])
    assert snapshot["total_time_s"] == done.total_time_s
    assert snapshot["predicted_p10_s"] == done.predicted_p10_s and snapshot["predicted_p90_s"] == done.predicted_p90_s
    api = client.get(f"/api/migrations/{m.pk}/").json()
    assert api["predicted_total_time_s"] == done.predicted_total_time_s and api["rate_limit"] == done.rate_limit
    assert api["prediction"]["limit_sentence"] and api["prediction"]["p90_total_time_s"] == done.predicted_p90_s
    calibration = client.get("/migrations/calibration/").content.decode()
    assert '<span class="value" id="cal-count">1</span>' in calibration
