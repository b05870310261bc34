"""Pages: charts and proposals render for everyone; only operators apply, dismiss or evacuate."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from inventory.choices import HostState
from inventory.models import Host
from migration.capacity.choices import RecommendationState
from migration.capacity.models import CapacitySettings, Evacuation, Recommendation
from migration.capacity.planning import next_peak
from migration.capacity.sampling import backfill
from migration.capacity.services.recommendations import recommendations_compute
from migration.models import Migration
from tests import factories


@pytest.fixture
def cloud(db):
    topo = factories.topology()
    CapacitySettings.objects.update_or_create(pk=1, defaults={"seed": 5})
    for i in range(8):
        factories.workload(topo.ca_hosts[0], vcpus=16, memory_gib=16 + 4 * i, segment=topo.stretched)
    backfill(days=1)
    return topo


def test_overview_shows_the_heatmap_data_and_every_site(cloud, viewer_client, django_assert_max_num_queries):
    with django_assert_max_num_queries(15):
        response = viewer_client.get("/capacity/?range=7d")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="host-heatmap"' in body and "capacity-data" in body
    for name in ("California DC", "Virginia DC", "Sydney region"):
        assert name in body
    assert "data-recommend" not in body  # viewers get no buttons


def test_host_page_renders_its_series(cloud, viewer_client):
    response = viewer_client.get(f"/capacity/hosts/{cloud.ca_hosts[0].pk}/")
    assert response.status_code == 200
    assert response.context["chart"]["points"]


def test_viewers_cannot_apply_dismiss_or_evacuate(cloud, viewer_client):
    rec = next(
        r for r in recommendations_compute(site=cloud.ca, at=next_peak(-122.0, datetime(2025, 3, 12, tzinfo=UTC)))
    )
    assert viewer_client.post(f"/capacity/recommendations/{rec.pk}/apply/").status_code == 403
    assert viewer_client.post(f"/capacity/recommendations/{rec.pk}/dismiss/").status_code == 403
    assert viewer_client.post(f"/capacity/hosts/{cloud.ca_hosts[0].pk}/evacuate/").status_code == 403
    assert viewer_client.post(f"/capacity/sites/{cloud.ca.pk}/recommend/").status_code == 403
    assert (
        viewer_client.post(f"/capacity/sites/{cloud.ca.pk}/evacuate/", {"destination": cloud.va.pk}).status_code == 403
    )
    assert Recommendation.objects.get(pk=rec.pk).state == RecommendationState.OPEN
    assert not Migration.objects.exists() and not Evacuation.objects.exists()


def test_operator_applies_a_recommendation_from_its_page(cloud, operator_client):
    # The host beside it is in maintenance: the room is across the WAN, where its datastore is not shared, so
    # every move copies its disk and carries that warning, whatever usage the seed draws for these ids.
    Host.objects.filter(pk=cloud.ca_hosts[1].pk).update(state=HostState.MAINTENANCE)
    rec = recommendations_compute(site=cloud.ca, at=next_peak(-122.0, datetime(2025, 3, 12, tzinfo=UTC)))[0]
    page = operator_client.get(rec.get_absolute_url())
    assert b"apply-rec" in page.content and b'id="override-reason"' in page.content  # its moves copy disks
    blank = operator_client.post(f"/capacity/recommendations/{rec.pk}/apply/", follow=True)
    assert "write why they are acceptable" in blank.content.decode() and not Migration.objects.exists()
    response = operator_client.post(
        f"/capacity/recommendations/{rec.pk}/apply/", {"override_reason": "Disk copies are expected."}, follow=True
    )
    assert "started" in response.content.decode()
    assert Migration.objects.count() == rec.moves.count() > 0


def test_confirm_page_predicts_before_anything_starts_and_the_post_starts_it(cloud, operator_client):
    host = cloud.ca_hosts[0]
    page = operator_client.get(f"/capacity/hosts/{host.pk}/evacuate/")
    assert page.status_code == 200 and b"Predicted duration" in page.content
    assert not Evacuation.objects.exists() and not Migration.objects.exists()
    response = operator_client.post(f"/capacity/hosts/{host.pk}/evacuate/")
    evacuation = Evacuation.objects.get()
    assert response.status_code == 302 and response.url == evacuation.get_absolute_url()
    assert Migration.objects.count() == 8
    progress = operator_client.get(f"/capacity/evacuations/{evacuation.pk}/progress/").json()
    assert progress["total"] == 8 and progress["state"] == "running"
    host.refresh_from_db()
    assert host.state == HostState.CONNECTED  # not before it is empty


def test_site_evacuation_confirm_page_says_when_the_window_is_too_short(cloud, operator_client):
    response = operator_client.get(
        f"/capacity/sites/{cloud.ca.pk}/evacuate/",
        {"destination": cloud.va.pk, "window_start": "2099-01-01T00:00", "window_end": "2099-01-01T00:01"},
    )
    assert response.status_code == 200
    plan = response.context["plan"]
    assert plan.movable and not plan.fit["fits"]
    assert b"does not fit the window" in response.content
