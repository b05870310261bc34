"""Pages and the REST API: operators act, viewers read; the API keeps the shape DESIGN.md promises."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from migration.models import Migration
from migration.services import migration_start
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def topo():
    return factories.topology()


def test_wizard_shows_errors_before_anything_starts(operator_client, topo):
    vm = factories.workload(topo.ca_hosts[0], segment=topo.ca_local)
    url = f"/migrations/new/?workload={vm.pk}"
    assert operator_client.get(url).status_code == 200
    response = operator_client.post(
        url, {"destination_host": topo.va_hosts[0].pk, "policy": "throttle", "max_downtime_s": 0.3, "action": "check"}
    )
    body = response.content.decode()
    assert "would change" in body
    assert 'id="start-button"' not in body
    assert Migration.objects.count() == 0


def test_wizard_shows_prediction_warnings_and_override_field_then_starts(operator_client, topo):
    vm = factories.workload(topo.ca_hosts[0], segment=topo.stretched)
    url = f"/migrations/new/?workload={vm.pk}"
    data = {"destination_site": topo.va.pk, "policy": "throttle", "max_downtime_s": 0.3}
    body = operator_client.post(url, data | {"action": "check"}).content.decode()
    assert 'id="prediction"' in body and "pre-copy rounds" in body
    assert 'id="override-field"' in body and "ca-vsan" in body
    refused = operator_client.post(url, data | {"action": "start"})
    assert refused.status_code == 200 and Migration.objects.count() == 0
    assert "override reason" in refused.content.decode()
    started = operator_client.post(url, data | {"action": "start", "override_reason": "The disk moves too: fine."})
    m = Migration.objects.get()
    assert started.status_code == 302 and started["Location"] == f"/migrations/{m.pk}/"
    assert m.override_reason == "The disk moves too: fine."


def test_wizard_suggests_what_would_converge(operator_client, topo, steady_world):
    vm = factories.workload(topo.ca_hosts[0], memory_gib=64, dirty_rate_bps=8_000_000_000)
    vm.working_set_bytes = vm.memory_bytes
    vm.save()
    body = operator_client.post(
        f"/migrations/new/?workload={vm.pk}",
        {"destination_host": topo.ca_hosts[1].pk, "policy": "abort", "max_downtime_s": 0.3, "action": "check"},
    ).content.decode()
    assert 'id="suggestions"' in body and "Throttle the guest" in body and "as fast" in body


def test_viewers_cannot_open_the_wizard_or_cancel(viewer_client, topo):
    vm = factories.workload(topo.ca_hosts[0])
    assert viewer_client.get(f"/migrations/new/?workload={vm.pk}").status_code == 403
    m = migration_start(workload=vm, destination_host=topo.ca_hosts[1])
    assert viewer_client.post(f"/migrations/{m.pk}/cancel/").status_code == 403
    assert viewer_client.get(f"/migrations/{m.pk}/").status_code == 200


def test_detail_page_shows_the_snapshot_and_cancel_button_for_operators(operator_client, topo):
    vm = factories.workload(topo.ca_hosts[0])
    m = migration_start(workload=vm, destination_host=topo.ca_hosts[1])
    body = operator_client.get(f"/migrations/{m.pk}/").content.decode()
    assert 'id="migration-snapshot"' in body and 'id="cancel-button"' in body and "rounds-chart" in body
    response = operator_client.post(f"/migrations/{m.pk}/cancel/")
    assert response.status_code == 302
    m.refresh_from_db()
    assert m.state == "cancelled"


def test_list_puts_active_first_filters_and_uses_constant_queries(operator_client, topo):
    done = [factories.workload(topo.ca_hosts[0]) for _ in range(3)]
    for vm in done:
        m = migration_start(workload=vm, destination_host=topo.ca_hosts[1])
        Migration.objects.filter(pk=m.pk).update(state="completed", outcome="converged")
    active = migration_start(workload=factories.workload(topo.ca_hosts[0]), destination_host=topo.ca_hosts[1])
    with CaptureQueriesContext(connection) as few:
        body = operator_client.get("/migrations/").content.decode()
    assert body.index(f'data-id="{active.pk}"') < body.index(f'data-id="{m.pk}"')
    for _ in range(5):
        m = migration_start(workload=factories.workload(topo.ca_hosts[0]), destination_host=topo.ca_hosts[1])
        Migration.objects.filter(pk=m.pk).update(state="failed")
    with CaptureQueriesContext(connection) as more:
        operator_client.get("/migrations/")
    assert len(more) == len(few)
    filtered = operator_client.get("/migrations/?state=failed").content.decode()
    assert f'data-id="{active.pk}"' not in filtered and 'data-state="failed"' in filtered


def test_csv_export_lists_filtered_migrations(viewer_client, topo):
    vm = factories.workload(topo.ca_hosts[0])
    m = migration_start(workload=vm, destination_host=topo.ca_hosts[1])
    response = viewer_client.get("/migrations/export.csv?kind=live")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:4] == ["id", "workload", "kind", "state"]
    assert rows[1][0] == str(m.pk) and rows[1][1] == vm.name
    assert len(rows) == 2


# -- API ---------------------------------------------------------------------------------------------------------


def test_api_precheck_returns_errors_warnings_and_prediction(operator_client, topo):
    vm = factories.workload(topo.ca_hosts[0], segment=topo.stretched)
    ok = operator_client.post(
        "/api/migrations/precheck/", {"workload": vm.pk, "destination_host": topo.ca_hosts[1].pk}, "application/json"
    ).json()
    assert ok["errors"] == [] and ok["warnings"] == []
    assert set(ok["prediction"]) >= {"rounds", "total_time_s", "downtime_s"}
    far = operator_client.post(
        "/api/migrations/precheck/", {"workload": vm.pk, "destination_site": topo.far.pk}, "application/json"
    ).json()
    assert any("160 ms" in e for e in far["errors"])


def test_api_start_201_or_400_with_nothing_created(operator_client, topo):
    vm = factories.workload(topo.ca_hosts[0], segment=topo.ca_local)
    bad = operator_client.post(
        "/api/migrations/", {"workload": vm.pk, "destination_host": topo.va_hosts[0].pk}, "application/json"
    )
    assert bad.status_code == 400 and any("would change" in e for e in bad.json()["errors"])
    assert Migration.objects.count() == 0
    good = operator_client.post(
        "/api/migrations/",
        {"workload": vm.pk, "destination_host": topo.ca_hosts[1].pk, "policy": "force", "max_downtime_s": 0.5},
        "application/json",
    )
    assert good.status_code == 201
    data = good.json()
    assert data["state"] == "prechecks" and data["policy"] == "force" and data["max_downtime_s"] == 0.5
    detail = operator_client.get(f"/api/migrations/{data['id']}/").json()
    assert {"state", "timings", "rounds", "events", "outcome"} <= set(detail)
    listing = operator_client.get("/api/migrations/?state=prechecks").json()
    assert [m["id"] for m in listing["results"]] == [data["id"]]
    cancelled = operator_client.post(f"/api/migrations/{data['id']}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"


def test_api_viewers_read_but_may_not_act(viewer_client, topo):
    vm = factories.workload(topo.ca_hosts[0])
    body = {"workload": vm.pk, "destination_host": topo.ca_hosts[1].pk}
    assert viewer_client.post("/api/migrations/", body, "application/json").status_code == 403
    assert viewer_client.post("/api/migrations/precheck/", body, "application/json").status_code == 403
    m = migration_start(workload=vm, destination_host=topo.ca_hosts[1])
    assert viewer_client.get(f"/api/migrations/{m.pk}/").status_code == 200
    assert viewer_client.post(f"/api/migrations/{m.pk}/cancel/").status_code == 403


def test_live_page_says_the_rate_is_memory_carried_through_wan_compression(viewer_client, topo, operator):
    topo.ca_link_va.compression_ratio = 2.0
    topo.ca_link_va.save()
    vm = factories.workload(topo.ca_hosts[0], segment=topo.stretched)
    migration = migration_start(
        workload=vm, destination_host=topo.va_hosts[0], requested_by=operator, override_reason="Storage moves too."
    )
    body = viewer_client.get(f"/migrations/{migration.pk}/").content.decode()
    assert "WAN optimization on California DC ↔ Virginia DC compresses 2×" in body
