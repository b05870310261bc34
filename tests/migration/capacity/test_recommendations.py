"""Recommendations: moves that bring a hot host under the thresholds in the projection, each passing pre-checks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from inventory.choices import HostState
from inventory.models import Host
from migration.capacity.choices import RecommendationState
from migration.capacity.models import CapacitySettings, Recommendation
from migration.capacity.planning import next_peak
from migration.capacity.services.recommendations import recommendation_apply, recommendations_compute
from migration.capacity.services.refusals import CapacityActionRefused
from migration.models import Migration
from migration.prechecks import precheck_migration
from tests import factories

WEDNESDAY = datetime(2025, 3, 12, 6, 0, tzinfo=UTC)


@pytest.fixture
def hot_california(db):
    topo = factories.topology()
    CapacitySettings.objects.update_or_create(pk=1, defaults={"seed": 5})
    # Fixed ids: the telemetry draws each workload's CPU from its id, so with the ids a database hands out after other
    # tests (PostgreSQL's sequences are not reset) the "identical" workloads' loads differ (CI failed on ids 9065-9072).
    busy = [
        factories.workload(topo.ca_hosts[0], vcpus=16, memory_gib=16 + 4 * i, segment=topo.stretched, pk=900_001 + i)
        for i in range(8)
    ]
    return topo, busy


def test_next_peak_is_the_next_weekday_early_afternoon_local_time():
    peak = next_peak(-122.0, WEDNESDAY)  # Tuesday 22:00 in California
    assert peak.weekday() == 2 and 21 <= peak.hour <= 22
    saturday = datetime(2025, 3, 15, 6, 0, tzinfo=UTC)
    assert next_peak(-122.0, saturday).weekday() == 0


def test_recommendation_brings_a_hot_host_under_the_threshold_and_every_move_passes_prechecks(hot_california):
    topo, busy = hot_california
    at = next_peak(topo.ca.longitude, WEDNESDAY)
    recs = recommendations_compute(site=topo.ca, at=at)
    host_recs = [r for r in recs if r.host_id == topo.ca_hosts[0].pk]
    assert len(host_recs) == 1
    rec = host_recs[0]
    assert rec.before["subject"]["cpu_pct"] > 80
    assert rec.brings_under
    assert rec.after["subject"]["cpu_pct"] <= 80 and rec.after["subject"]["mem_pct"] <= 80
    moves = list(rec.moves.select_related("workload", "destination_host"))
    assert moves and moves[0].destination_host == topo.ca_hosts[1]  # room on its own site first
    assert {m.destination_host.cluster.site_id for m in moves} <= {topo.ca.pk, topo.va.pk}  # Sydney: RTT 160 ms
    for target in rec.after["targets"]:
        assert target["cpu_after"] <= 80 and target["mem_after"] <= 80
    for move in moves:
        check = precheck_migration(workload=move.workload, destination_host=move.destination_host)
        assert check.errors == []
        assert move.predicted_time_s > 0 and move.predicted_downtime_s > 0
    # The cheapest relief first: the smallest of the identical-CPU workloads moves before the biggest.
    moved = {m.workload_id for m in moves}
    assert busy[0].pk in moved and busy[-1].pk not in moved


def test_a_quiet_site_gets_no_recommendation(hot_california):
    topo, _ = hot_california
    assert recommendations_compute(site=topo.va, at=next_peak(topo.va.longitude, WEDNESDAY)) == []


def test_applying_a_recommendation_starts_its_migrations_once(hot_california, operator):
    topo, _ = hot_california
    rec = next(
        r for r in recommendations_compute(site=topo.ca, at=next_peak(topo.ca.longitude, WEDNESDAY)) if r.host_id
    )
    results = recommendation_apply(recommendation=rec, user=operator, override_reason="Disk copies are expected.")
    assert results and all(r["outcome"] in ("started", "queued") for r in results)
    assert Migration.objects.count() == rec.moves.count()
    assert Recommendation.objects.get(pk=rec.pk).state == RecommendationState.APPLIED
    with pytest.raises(CapacityActionRefused):
        recommendation_apply(recommendation=rec, user=operator, override_reason="Disk copies are expected.")
    assert Migration.objects.count() == rec.moves.count()


def test_applying_a_recommendation_with_warnings_needs_the_operators_reason(hot_california, operator):
    """No canned reason: a proposal whose moves carry pre-check warnings starts only with a written reason, which
    each started migration carries; refused without one, nothing started and the proposal stays open."""
    topo, _ = hot_california
    # The host beside it is in maintenance: the room is across the WAN, where its datastore is not shared, so
    # every move copies its disk and carries that warning, whatever usage the seed draws for these ids.
    Host.objects.filter(pk=topo.ca_hosts[1].pk).update(state=HostState.MAINTENANCE)
    rec = next(
        r for r in recommendations_compute(site=topo.ca, at=next_peak(topo.ca.longitude, WEDNESDAY)) if r.host_id
    )
    warned = rec.moves.exclude(warnings=[]).first()  # its destination cannot see its datastore: the disk is copied
    assert warned is not None

    with pytest.raises(CapacityActionRefused, match="need a written override reason"):
        recommendation_apply(recommendation=rec, user=operator, override_reason="   ")
    assert not Migration.objects.exists()
    assert Recommendation.objects.get(pk=rec.pk).state == RecommendationState.OPEN

    recommendation_apply(recommendation=rec, user=operator, override_reason="Relieves the hot host before the peak.")
    migration = Migration.objects.get(workload=warned.workload)
    assert migration.override_reason == "Relieves the hot host before the peak."
