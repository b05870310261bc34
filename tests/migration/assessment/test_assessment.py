"""Assessments: computation (pre-checks, waves, bound, capacity), the API, bad input, exports, compare, re-run."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from inventory.models import CloudLink, Host, Workload
from inventory.selectors import host_usage
from migration.assessment import computation, services
from migration.assessment.choices import AssessmentStatus, DirtySource, MoveMode
from migration.assessment.exports import HEADER
from migration.assessment.models import Assessment, AssessmentRow

pytestmark = pytest.mark.django_db


def make(demo, *, source="California DC", destination="Virginia DC", compute=True, **scenario) -> Assessment:
    a = services.assessment_create(scope_kind="site", scope_site=demo[source], destination=demo[destination],
                                   scenario=scenario)  # fmt: skip
    if compute:
        assert services.assessment_compute(assessment_id=a.pk) == AssessmentStatus.DONE
        a.refresh_from_db()
    return a


# -- computation ----------------------------------------------------------------------------------------------------


def test_scenario_defaults_to_the_real_link_between_the_sites(demo):
    a = make(demo, compute=False)
    link = CloudLink.objects.get(site_a__name="California DC", site_b__name="Virginia DC")
    assert (a.bandwidth_mbit, a.rtt_ms, a.compression_ratio) == (link.bandwidth_mbit, link.rtt_ms, 2.0)
    assert "California DC ↔ Virginia DC" in a.link_note
    b = make(demo, compute=False, bandwidth_mbit=1000)
    assert b.bandwidth_mbit == 1000 and b.rtt_ms == link.rtt_ms and "changed here: bandwidth mbit" in b.link_note


def test_california_to_virginia_every_workload_has_a_row_with_a_prediction_or_its_errors(demo):
    a = make(demo)
    workloads = Workload.objects.filter(host__cluster__site=demo["California DC"])
    rows = list(a.rows.all())
    assert len(rows) == workloads.count() == a.summary["workloads"]
    movable = [r for r in rows if r.mode != MoveMode.BLOCKED]
    assert movable and len(movable) == a.summary["movable"]
    for r in rows:
        if r.mode == MoveMode.BLOCKED:
            assert r.errors, r.workload_name  # the pre-checks' own sentences
            assert r.start_s is None
        else:
            assert not r.errors and r.end_s > r.start_s >= 0 and r.destination_host
            assert r.limit in ("link", "nic", "window", "loss", "codec", "cipher") and r.limit_sentence
            assert r.reason
    # Segments that exist only in California block the move and say so.
    local = [r for r in rows if r.mode == MoveMode.BLOCKED]
    assert any("sc-local" in e and "not present" in e for r in local for e in r.errors)
    # The wave cannot beat the physical bound: every byte of memory and disk crosses the link once.
    s = a.summary
    assert s["makespan_s"] >= s["physical_bound_s"] * 0.999 > 0
    to_copy = sum(r.memory_bytes + r.disk_bytes for r in movable)
    assert s["physical_bound_s"] == pytest.approx(to_copy / (10_000e6 / 8 * 2.0), rel=1e-3)
    assert s["capacity_fits"] in (True, False) and s["destination_capacity"]["memory_bytes"]["needed"] > 0


def test_a_faster_link_shortens_the_makespan_and_compression_counts(demo):
    slow = make(demo, bandwidth_mbit=1000, compression_ratio=1.0)
    fast = make(demo, bandwidth_mbit=10_000, compression_ratio=1.0)
    packed = make(demo, bandwidth_mbit=1000, compression_ratio=2.0)
    assert fast.summary["makespan_s"] < slow.summary["makespan_s"] / 3
    assert packed.summary["makespan_s"] < slow.summary["makespan_s"] * 0.7
    # At 1 Gbit/s at most 4 migrations at once (250 Mbit/s each, the pre-checks' minimum).
    assert slow.summary["concurrency"] == 4 and fast.summary["concurrency"] == 8


def test_a_public_region_destination_without_a_stretched_segment_blocks_with_the_reason(demo):
    a = make(demo, destination="Azure East US")
    rows = list(a.rows.all())
    assert rows
    blocked = [r for r in rows if r.mode == MoveMode.BLOCKED]
    assert blocked and all(r.errors for r in blocked)
    assert a.summary["blocked"] == len(blocked)
    assert sum(a.summary["blocked_by"].values()) == len(blocked)


def test_a_window_splits_the_moves_into_waves_that_each_fit(demo):
    a = make(demo, bandwidth_mbit=1000, window_hours=0.5)
    waves = a.summary["waves"]
    assert a.summary["wave_count"] > 1 and a.summary["fits_window"] is False
    window = 1800
    for w in waves:
        assert w["makespan_s"] <= window or w["workloads"] == 1
    for r in a.rows.exclude(mode=MoveMode.BLOCKED):
        assert r.end_s <= window or r.over_window
    one = make(demo, window_hours=300)
    assert one.summary["wave_count"] == 1 and one.summary["fits_window"] is True


def test_dirty_rates_come_from_past_migrations_then_the_inventory_and_overrides_win(demo):
    from migration.models import Migration, MigrationRound

    vm = Workload.objects.filter(host__cluster__site=demo["California DC"], power_state="on").first()
    other = Workload.objects.exclude(pk=vm.pk).first()
    m = Migration.objects.create(
        workload=vm, source_host=vm.host, destination_host=other.host, source_datastore=vm.datastore,
        destination_datastore=vm.datastore, state="completed",
    )  # fmt: skip
    MigrationRound.objects.create(migration=m, index=1, start_s=0, duration_s=1, bytes=1, dirty_rate_bps=77e6,
                                  dirtied_bytes=1)  # fmt: skip
    a = make(demo)
    row = a.rows.get(workload=vm)
    assert row.dirty_source == DirtySource.TELEMETRY and row.dirty_rate_bps == 77e6
    plain = a.rows.exclude(workload=vm).filter(power_state="on").first()
    assert plain.dirty_source == DirtySource.INVENTORY
    assert plain.dirty_rate_bps == Workload.objects.get(pk=plain.workload_id).dirty_rate_bps
    # Re-run with the class's rate edited: every live workload of the class takes it, the first is kept as it was.
    again = services.assessment_rerun(assessment=a, dirty_rate_mb_s={plain.dirty_class: 500}, user=None)
    assert services.assessment_compute(assessment_id=again.pk) == AssessmentStatus.DONE
    again.refresh_from_db()
    edited = again.rows.filter(dirty_class=plain.dirty_class, power_state="on")
    assert edited.exists() and all(r.dirty_rate_bps == 500e6 and r.dirty_source == "override" for r in edited)
    assert again.based_on_id == a.pk
    assert Workload.objects.get(pk=plain.workload_id).dirty_rate_bps != 500e6  # nothing written to the inventory
    entry = next(e for e in again.assumptions if e.get("key") == plain.dirty_class)
    assert entry["override_mb_s"] == 500 and entry["editable"]


def test_computing_twice_changes_nothing_and_a_stale_claim_is_taken_over(demo):
    a = make(demo)
    n = a.rows.count()
    assert services.assessment_compute(assessment_id=a.pk) == AssessmentStatus.DONE  # already done: untouched
    assert a.rows.count() == n
    # A worker died mid-computation: its lease expires, the watchdog re-enqueues, the next claim recomputes.
    Assessment.objects.filter(pk=a.pk).update(status="running", lease_until=timezone.now() - timedelta(seconds=1))
    assert a.pk in services.assessments_resume_stale()
    assert services.assessment_compute(assessment_id=a.pk) == AssessmentStatus.DONE
    assert AssessmentRow.objects.filter(assessment=a).count() == n
    a.refresh_from_db()
    assert a.attempts == 2
    # A live lease is not taken over.
    Assessment.objects.filter(pk=a.pk).update(status="running", lease_until=timezone.now() + timedelta(minutes=1))
    assert services.assessment_compute(assessment_id=a.pk) == "running"


def test_a_computation_that_raises_marks_the_assessment_failed_with_the_reason(demo, monkeypatch):
    a = make(demo, compute=False)

    def boom(*args, **kwargs):
        raise RuntimeError("the engine exploded")

    monkeypatch.setattr(computation, "plan_wave", boom)
    assert services.assessment_compute(assessment_id=a.pk) == AssessmentStatus.FAILED
    a.refresh_from_db()
    assert a.status == "failed" and "the engine exploded" in a.error and not a.rows.exists()


# -- API ------------------------------------------------------------------------------------------------------------


def test_api_creates_then_reports_progress_and_rows(demo, operator_client, django_capture_on_commit_callbacks):
    body = {
        "scope": {"kind": "site", "site": demo["California DC"].pk},
        "destination": demo["Virginia DC"].pk,
        "scenario": {"bandwidth_mbit": 1000, "compression_ratio": 1.0},
        "name": "1 Gbit/s, no compression",
    }
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = operator_client.post("/api/assessments/", body, "application/json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "queued" and data["bandwidth_mbit"] == 1000 and len(callbacks) == 1
    from hybridcloud.core.models import AuditEntry

    entry = AuditEntry.objects.get(action="assessment.create")
    assert entry.actor.username == "otto" and entry.after["bandwidth_mbit"] == 1000
    detail = operator_client.get(f"/api/assessments/{data['id']}/").json()
    assert detail["status"] == "queued" and detail["rows"] == []
    services.assessment_compute(assessment_id=data["id"])
    detail = operator_client.get(f"/api/assessments/{data['id']}/").json()
    assert detail["status"] == "done" and detail["percent"] == 100.0
    assert len(detail["rows"]) == detail["summary"]["workloads"] > 0
    row = next(r for r in detail["rows"] if r["mode"] != "blocked")
    assert row["duration_s"] > 0 and row["limit_sentence"] and row["downtime_s"] is not None
    assert {"makespan_s", "physical_bound_s", "destination_capacity", "waves"} <= set(detail["summary"])
    listed = operator_client.get("/api/assessments/?status=done").json()
    assert [a["id"] for a in listed["results"]] == [data["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scope": {"kind": "site"}, "destination": "VA"}, "scope.site"),
        ({"scope": {"kind": "site", "site": "CA"}}, "destination"),
        ({"scope": {"kind": "planet"}, "destination": "VA"}, "scope.kind"),
        ({"scope": {"kind": "site", "site": "CA"}, "destination": 999999}, "destination"),
        ({"scope": {"kind": "site", "site": "CA"}, "destination": "VA", "scenario": {"bandwidth_mbit": 0}},
         "scenario.bandwidth_mbit"),
        ({"scope": {"kind": "site", "site": "CA"}, "destination": "VA", "scenario": {"loss_percent": 150}},
         "scenario.loss_percent"),
        ({"scope": {"kind": "site", "site": "CA"}, "destination": "VA", "scenario": {"rtt_ms": "far"}},
         "scenario.rtt_ms"),
        ({"scope": {"kind": "site", "site": "CA"}, "destination": "CA"}, "destination"),
        ({"scope": {"kind": "filter", "query": "site=999999"}, "destination": "VA"}, "scope.query.site"),
        ({"scope": {"kind": "filter", "query": "q=no-such-workload"}, "destination": "VA"}, "scope"),
        # No link between the two public regions: bandwidth and RTT must be given.
        ({"scope": {"kind": "site", "site": "AWS"}, "destination": "AZ"}, "scenario.bandwidth_mbit"),
        ({"scope": {"kind": "site", "site": "CA"}, "destination": "VA", "dirty_rate_mb_s": {"database": -1}},
         "dirty_rate_mb_s.database"),
    ],
)  # fmt: skip
def test_api_bad_input_names_the_field_and_creates_nothing(demo, operator_client, body, field):
    names = {"CA": "California DC", "VA": "Virginia DC", "AWS": "AWS us-west-2", "AZ": "Azure East US"}

    def resolve(value):
        if isinstance(value, dict):
            return {k: resolve(v) for k, v in value.items()}
        return demo[names[value]].pk if isinstance(value, str) and value in names else value

    response = operator_client.post("/api/assessments/", resolve(body), "application/json")
    assert response.status_code == 400, response.content
    assert field in response.json()["field_errors"], response.json()
    assert not Assessment.objects.exists()


def test_viewers_read_but_cannot_create(demo, viewer_client):
    body = {"scope": {"kind": "site", "site": demo["California DC"].pk}, "destination": demo["Virginia DC"].pk}
    assert viewer_client.post("/api/assessments/", body, "application/json").status_code == 403
    assert viewer_client.post("/assessments/new/", {"scope_kind": "site"}).status_code == 403
    assert not Assessment.objects.exists()
    a = make(demo)
    assert viewer_client.get(f"/api/assessments/{a.pk}/").status_code == 200
    assert viewer_client.get(f"/assessments/{a.pk}/").status_code == 200


# -- pages ----------------------------------------------------------------------------------------------------------


def test_form_bad_input_says_which_field_and_creates_nothing(demo, operator_client):
    form = {"scope_kind": "site", "scope_site": demo["California DC"].pk, "destination": demo["Virginia DC"].pk,
            "bandwidth_mbit": "-5"}  # fmt: skip
    response = operator_client.post("/assessments/new/", form)
    assert response.status_code == 200
    assert "bandwidth_mbit" in response.context["form"].errors
    assert not Assessment.objects.exists()
    # No link between the two public regions and no bandwidth given: the form says so on the field.
    form = {"scope_kind": "site", "scope_site": demo["AWS us-west-2"].pk, "destination": demo["Azure East US"].pk}
    response = operator_client.post("/assessments/new/", form)
    assert "no link between" in " ".join(response.context["form"].errors["bandwidth_mbit"]).lower()
    form = {"scope_kind": "cluster", "destination": demo["Virginia DC"].pk}
    response = operator_client.post("/assessments/new/", form)
    assert "scope_cluster" in response.context["form"].errors
    assert not Assessment.objects.exists()


def test_the_workloads_page_links_its_filter_to_a_new_assessment(demo, operator_client):
    ca = demo["California DC"].pk
    page = operator_client.get(f"/workloads/?site={ca}&kind=vm").content.decode()
    assert f"/assessments/new/?query=site%3D{ca}%26kind%3Dvm" in page
    form = operator_client.get(f"/assessments/new/?query=site%3D{ca}%26kind%3Dvm").context["form"]
    assert form.initial == {"scope_kind": "filter", "scope_query": f"site={ca}&kind=vm"}
    response = operator_client.post("/assessments/new/", {
        "scope_kind": "filter", "scope_query": f"site={ca}&kind=vm", "destination": demo["Virginia DC"].pk,
    })  # fmt: skip
    a = Assessment.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/assessments/{a.pk}/"
    services.assessment_compute(assessment_id=a.pk)
    expected = Workload.objects.filter(host__cluster__site_id=ca, kind="vm").count()
    assert a.rows.count() == expected and not a.rows.exclude(kind="vm").exists()


def test_detail_page_shows_progress_then_the_results(demo, operator_client):
    a = make(demo, compute=False)
    page = operator_client.get(f"/assessments/{a.pk}/").content.decode()
    assert 'id="progress-card"' in page and "Queued" in page
    assert operator_client.get(f"/assessments/{a.pk}/progress/").json()["status"] == "queued"
    services.assessment_compute(assessment_id=a.pk)
    page = operator_client.get(f"/assessments/{a.pk}/").content.decode()
    assert 'id="gantt"' in page and 'id="histogram"' in page and "physical bound" in page
    assert "vendor/plotly/plotly.min.js" in page and "cdn" not in page.lower()
    blocked = operator_client.get(f"/assessments/{a.pk}/?mode=blocked").context["page"]
    assert all(r.mode == "blocked" for r in blocked)


def test_csv_export_parses_with_one_line_per_workload(demo, viewer_client):
    a = make(demo)
    response = viewer_client.get(f"/assessments/{a.pk}/export.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert lines[0] == HEADER and len(lines) == a.rows.count() + 1
    names = {line[0] for line in lines[1:]}
    assert names == set(a.rows.values_list("workload_name", flat=True))
    blocked = next(line for line in lines[1:] if line[HEADER.index("mode")] == "blocked")
    assert blocked[HEADER.index("precheck_errors")]


def test_xlsx_export_opens_with_openpyxl(demo, viewer_client):
    a = make(demo)
    response = viewer_client.get(f"/assessments/{a.pk}/export.xlsx")
    assert response.status_code == 200 and "spreadsheetml" in response["Content-Type"]
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    assert book.sheetnames == ["Summary", "Workloads", "Assumptions"]
    rows = list(book["Workloads"].iter_rows(values_only=True))
    assert list(rows[0]) == HEADER and len(rows) == a.rows.count() + 1
    summary = {row[0]: (row[1] if len(row) > 1 else None) for row in book["Summary"].iter_rows(values_only=True)}
    assert summary["makespan_s"] == a.summary["makespan_s"] and summary["bandwidth_mbit"] == a.bandwidth_mbit


def test_compare_page_puts_assessments_side_by_side(demo, viewer_client):
    one = make(demo, bandwidth_mbit=1000)
    ten = make(demo, bandwidth_mbit=10_000)
    response = viewer_client.get(f"/assessments/compare/?ids={one.pk}&ids={ten.pk}")
    assert response.status_code == 200
    page = response.content.decode()
    assert "1 Gbit/s" in page and "10 Gbit/s" in page and 'id="compare-histogram"' in page
    series = response.context["table"]["series"]
    assert [s["id"] for s in series] == [one.pk, ten.pk]
    assert len(series[0]["durations"]) == one.summary["movable"]
    assert viewer_client.get(f"/assessments/compare/?ids={one.pk}").status_code == 400
    assert viewer_client.get(f"/assessments/compare/?ids={one.pk}&ids=999999").status_code == 400
    assert viewer_client.get("/assessments/compare/?ids=x&ids=y").status_code == 400
    assert viewer_client.get("/assessments/compare/").status_code == 200


def test_rerun_form_refuses_a_negative_rate(demo, operator_client):
    a = make(demo)
    key = next(e["key"] for e in a.assumptions if e["kind"] == "dirty_rate")
    response = operator_client.post(f"/assessments/{a.pk}/rerun/", {f"dirty_{key}": "-3"})
    assert response.status_code == 302 and Assessment.objects.count() == 1
    response = operator_client.post(f"/assessments/{a.pk}/rerun/", {f"dirty_{key}": "120"})
    again = Assessment.objects.exclude(pk=a.pk).get()
    assert response["Location"] == f"/assessments/{again.pk}/"
    assert again.overrides == {"dirty_rate_bps": {key: 120e6}}


def test_moves_fill_the_destination_hosts_one_after_another(demo):
    a = make(demo)
    live = a.rows.filter(power_state="on").exclude(mode=MoveMode.BLOCKED)
    targets = {}
    for r in live:
        targets.setdefault(r.destination_host, 0)
        targets[r.destination_host] += r.memory_bytes
    assert len(targets) > 1  # placement sees the earlier moves, so it spreads them
    usage = host_usage()
    for name, memory in targets.items():
        host = Host.objects.get(name=name)
        assert usage[host.pk].memory_bytes + memory <= host.memory_bytes, name


def test_accepting_readdressing_lets_unstretched_workloads_move_with_a_warning(demo):
    strict = make(demo, destination="AWS us-west-2")
    loose = make(demo, destination="AWS us-west-2", accept_readdressing=True)
    assert loose.accept_readdressing and loose.summary["blocked"] < strict.summary["blocked"]
    moved = loose.rows.filter(workload__in=strict.rows.filter(mode=MoveMode.BLOCKED).values("workload")).exclude(
        mode=MoveMode.BLOCKED
    )
    assert moved.exists()
    assert all(any("new address" in w for w in r.warnings) for r in moved)
    assert any(e["key"] == "readdressing" and "accepted" in e["value"] for e in loose.assumptions)


def test_an_imported_estate_is_assessed_with_the_documented_default_dirty_rates(demo):
    from pathlib import Path

    from inventory.assumptions import workload_dirty_assumption
    from inventory.importers.runs import rvtools_import
    from inventory.models import Estate

    # Its two datacenters go to new private sites (not the demo's sites of the same names): no link to Virginia.
    demo_file = Path(__file__).resolve().parents[3] / "inventory/fixtures/rvtools_demo.xlsx"
    rvtools_import(
        source=demo_file, file_name=demo_file.name, site_choices={"California DC": None, "Virginia DC": None}
    )
    estate = Estate.objects.get()
    imported = Workload.objects.filter(estate=estate)
    assert not imported.filter(host__cluster__site__in=demo.values()).exists()
    with pytest.raises(services.AssessmentRefused) as refused:
        services.assessment_create(scope_kind="estate", scope_estate=estate, destination=demo["Virginia DC"])
    assert "scenario.bandwidth_mbit" in refused.value.field_errors
    a = services.assessment_create(
        scope_kind="estate", scope_estate=estate, destination=demo["Virginia DC"],
        scenario={"bandwidth_mbit": 10_000, "rtt_ms": 40, "accept_readdressing": True},
    )  # fmt: skip
    assert services.assessment_compute(assessment_id=a.pk) == AssessmentStatus.DONE
    a.refresh_from_db()
    assert a.scope_label == f"estate {estate.name}" and a.rows.count() == imported.count() > 0
    for row in a.rows.filter(power_state="on"):
        w = row.workload
        default = workload_dirty_assumption(name=w.name, guest_os=w.guest_os, memory_bytes=w.memory_bytes,
                                            annotation=w.annotation)  # fmt: skip
        assert row.dirty_source == DirtySource.DEFAULT and row.dirty_rate_bps == default.dirty_rate_bps
        assert row.dirty_class == default.role
    assert "Entered" in a.link_note


def test_a_cluster_scope_assesses_exactly_its_workloads(demo, operator_client):
    from inventory.models import Cluster

    cluster = Cluster.objects.get(name="sc-prod-a")
    body = {"scope": {"kind": "cluster", "cluster": cluster.pk}, "destination": demo["Virginia DC"].pk}
    response = operator_client.post("/api/assessments/", body, "application/json")
    assert response.status_code == 201
    a = Assessment.objects.get(pk=response.json()["id"])
    assert a.scope_label == "cluster sc-prod-a (California DC)"
    services.assessment_compute(assessment_id=a.pk)
    expected = set(Workload.objects.filter(host__cluster=cluster).values_list("name", flat=True))
    assert set(a.rows.values_list("workload_name", flat=True)) == expected and expected


def test_a_heavy_writer_on_a_thin_link_converges_only_with_the_guest_slowed_and_cold_moves_have_no_verdict(demo):
    a = make(demo, bandwidth_mbit=1000, compression_ratio=1.0)
    again = services.assessment_rerun(
        assessment=a, dirty_rate_mb_s={key: 600 for key in ("database", "cache", "app", "web", "build", "infra",
                                                            "windows", "linux")}, user=None,
    )  # fmt: skip
    services.assessment_compute(assessment_id=again.pk)
    again.refresh_from_db()
    live = again.rows.filter(power_state="on").exclude(mode=MoveMode.BLOCKED)
    slowed = [r for r in live if r.converged and r.throttle > 0]
    assert slowed, "600 MB/s over a 1 Gbit/s share cannot converge without slowing the guest"
    s = again.summary
    assert s["throttled"] == len(slowed) and s["converged_alone"] + s["throttled"] + s["not_converged"] == s["live"]
    cold = again.rows.filter(mode=MoveMode.COLD)
    assert cold.exists() and all(r.converged is None for r in cold)
