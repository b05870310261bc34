"""The capacity REST API: samples, recommendations (compute, apply, dismiss) and evacuations (preview, start)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from inventory.choices import HostState
from inventory.models import Host
from migration.capacity.choices import RecommendationState, Scope
from migration.capacity.models import CapacitySettings, Evacuation, Recommendation, UtilisationSample
from migration.models import Migration
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer_api(viewer) -> Client:
    """A viewer's own client (the shared fixtures sign one client in as either role)."""
    client = Client()
    client.force_login(viewer)
    return client


@pytest.fixture
def topo():
    topo = factories.topology()
    CapacitySettings.objects.update_or_create(pk=1, defaults={"seed": 5})
    return topo


@pytest.fixture
def hot(topo):
    for i in range(8):
        factories.workload(topo.ca_hosts[0], vcpus=16, memory_gib=16 + 4 * i, segment=topo.stretched)
    return topo


def test_samples_filter_by_scope_object_and_time_range_and_are_paginated(topo, viewer_client):
    now = timezone.now().replace(microsecond=0)
    host = topo.ca_hosts[0]
    UtilisationSample.objects.bulk_create(
        [
            UtilisationSample(scope=Scope.HOST, object_id=host.pk, at=now - timedelta(minutes=5 * i), cpu_pct=i,
                              mem_pct=50)
            for i in range(60)
        ]
        + [UtilisationSample(scope=Scope.SITE, object_id=host.pk, at=now, cpu_pct=1, mem_pct=1)]
    )  # fmt: skip
    page = viewer_client.get("/api/capacity/samples/", {"scope": "host", "object": host.pk}).json()
    assert page["count"] == 60 and len(page["results"]) == 50 and page["next"]
    assert all(s["scope"] == "host" for s in page["results"])
    since = (now - timedelta(minutes=12)).isoformat()
    recent = viewer_client.get("/api/capacity/samples/", {"scope": "host", "object": host.pk, "since": since}).json()
    assert [s["cpu_pct"] for s in recent["results"]] == [2, 1, 0]  # oldest first


def test_samples_with_bad_filters_answer_400_with_sentences(viewer_client):
    response = viewer_client.get("/api/capacity/samples/", {"object": 3})
    assert response.status_code == 400
    assert response.json() == {"errors": ["Give the scope (workload, host or site) of the object."]}
    response = viewer_client.get("/api/capacity/samples/", {"scope": "rack", "since": "yesterday"})
    assert response.status_code == 400 and len(response.json()["errors"]) == 2


def test_operator_computes_then_applies_a_recommendation_and_applying_twice_is_refused(hot, operator_client):
    # The host beside it is in maintenance: the room is across the WAN, where its datastore is not shared, so
    # every move copies its disk and carries that warning, whatever usage the seed draws for these ids.
    Host.objects.filter(pk=hot.ca_hosts[1].pk).update(state=HostState.MAINTENANCE)
    response = operator_client.post(f"/api/capacity/sites/{hot.ca.pk}/recommendations/")
    assert response.status_code == 201
    recs = response.json()
    rec = next(r for r in recs if r["host"] == hot.ca_hosts[0].pk)
    assert rec["state"] == "open" and rec["moves"] and rec["moves_count"] == len(rec["moves"])
    assert all(m["predicted_time_s"] > 0 for m in rec["moves"])
    listed = operator_client.get("/api/capacity/recommendations/", {"state": "open"}).json()
    assert rec["id"] in [r["id"] for r in listed["results"]]
    refused = operator_client.post(f"/api/capacity/recommendations/{rec['id']}/apply/")  # warnings, no reason
    assert refused.status_code == 400 and refused.json()["warnings"] and not Migration.objects.exists()
    applied = operator_client.post(
        f"/api/capacity/recommendations/{rec['id']}/apply/",
        {"override_reason": "Disk copies are expected."},
        content_type="application/json",
    )
    assert applied.status_code == 200
    body = applied.json()
    assert body["recommendation"]["state"] == "applied"
    assert {r["outcome"] for r in body["results"]} <= {"started", "queued"}
    assert Migration.objects.count() == len(rec["moves"])
    again = operator_client.post(
        f"/api/capacity/recommendations/{rec['id']}/apply/",
        {"override_reason": "Disk copies are expected."},
        content_type="application/json",
    )
    assert again.status_code == 400 and "already applied" in again.json()["errors"][0]
    assert Migration.objects.count() == len(rec["moves"])


def test_viewer_reads_recommendations_but_cannot_compute_apply_or_dismiss(hot, viewer_api, operator_client):
    rec_id = operator_client.post(f"/api/capacity/sites/{hot.ca.pk}/recommendations/").json()[0]["id"]
    assert viewer_api.get(f"/api/capacity/recommendations/{rec_id}/").status_code == 200
    assert viewer_api.post(f"/api/capacity/sites/{hot.ca.pk}/recommendations/").status_code == 403
    assert viewer_api.post(f"/api/capacity/recommendations/{rec_id}/apply/").status_code == 403
    assert viewer_api.post(f"/api/capacity/recommendations/{rec_id}/dismiss/").status_code == 403
    assert Recommendation.objects.get(pk=rec_id).state == RecommendationState.OPEN
    dismissed = operator_client.post(f"/api/capacity/recommendations/{rec_id}/dismiss/")
    assert dismissed.status_code == 200 and dismissed.json()["state"] == "dismissed"


def test_preview_predicts_a_host_evacuation_and_creates_nothing(hot, operator_client):
    end = (timezone.now() + timedelta(seconds=30)).isoformat()
    body = {"host": hot.ca_hosts[0].pk, "window_end": end}
    response = operator_client.post("/api/capacity/evacuations/preview/", body, "application/json")
    assert response.status_code == 200
    plan = response.json()
    assert plan["scope"] == "host" and plan["movable"] + plan["blocked"] == 8
    assert plan["makespan_s"] > 30 and plan["fits_window"] is False
    assert any(i["over_window"] for i in plan["items"])
    assert not Evacuation.objects.exists() and not Migration.objects.exists()


def test_operator_evacuates_a_host_and_reads_its_items_and_prediction(hot, operator_client, viewer_api):
    host = hot.ca_hosts[0]
    refused = viewer_api.post("/api/capacity/evacuations/", {"host": host.pk}, "application/json")
    assert refused.status_code == 403 and not Evacuation.objects.exists()
    response = operator_client.post("/api/capacity/evacuations/", {"host": host.pk}, "application/json")
    assert response.status_code == 201
    evac = response.json()
    assert evac["state"] == "running" and len(evac["items"]) == 8 and evac["prediction"]["makespan_s"] > 0
    assert Migration.objects.filter(source_host=host).exists()
    detail = viewer_api.get(f"/api/capacity/evacuations/{evac['id']}/").json()
    assert [i["workload"] for i in detail["items"]] == [i["workload"] for i in evac["items"]]
    twice = operator_client.post("/api/capacity/evacuations/", {"host": host.pk}, "application/json")
    assert twice.status_code == 400 and "already being evacuated" in twice.json()["errors"][0]
    assert host.__class__.objects.get(pk=host.pk).state == HostState.CONNECTED  # not empty yet


def test_evacuation_requests_that_make_no_sense_answer_400(topo, operator_client):
    cases = [
        {},
        {"host": topo.ca_hosts[0].pk, "site": topo.ca.pk},
        {"site": topo.ca.pk},
        {"site": topo.ca.pk, "destination_site": topo.ca.pk},
        {"host": topo.ca_hosts[0].pk, "window_end": (timezone.now() - timedelta(hours=1)).isoformat()},
    ]
    for body in cases:
        for url in ("/api/capacity/evacuations/", "/api/capacity/evacuations/preview/"):
            response = operator_client.post(url, body, "application/json")
            assert response.status_code == 400, (url, body)
            assert response.json()["errors"], (url, body)
    assert not Evacuation.objects.exists()
