"""Move groups through the API and the pages (Django's test client; the browser test is test_browser.py)."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from hybridcloud.core.models import AuditEntry
from migration.models import Migration
from migration.moves.models import MoveGroup
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def topo():
    return factories.topology()


def vms(topo, n: int):
    return [factories.workload(topo.ca_hosts[0], memory_gib=1, segment=topo.stretched) for _ in range(n)]


def test_api_precheck_create_list_detail_reschedule_cancel(topo, operator_client):
    ws = vms(topo, 3)
    body = {"workloads": [w.pk for w in ws], "destination_host": topo.va_hosts[0].pk}
    check = operator_client.post("/api/move-groups/precheck/", body, content_type="application/json").json()
    assert len(check["with_warnings"]) == 3 and check["warnings"][0]["workloads"][0]["name"] == ws[0].name
    refused = operator_client.post("/api/move-groups/", body, content_type="application/json")
    assert refused.status_code == 400 and "write one reason" in refused.json()["errors"][0]
    start = timezone.now() + timedelta(hours=1)
    created = operator_client.post(
        "/api/move-groups/",
        {**body, "override_reason": "Exit CA.", "concurrency": 2, "start_at": start.isoformat(),
         "window_start": (start + timedelta(minutes=30)).isoformat(),
         "window_end": (start + timedelta(hours=2)).isoformat(), "on_window_close": "switchover"},
        content_type="application/json",
    )  # fmt: skip
    assert created.status_code == 201, created.content
    group = created.json()
    assert group["state"] == "scheduled" and group["member_count"] == 3 and Migration.objects.count() == 0
    assert [m["state"] for m in group["progress"]["members"]] == ["pending"] * 3
    listed = operator_client.get("/api/move-groups/?state=scheduled").json()
    assert [g["id"] for g in listed["results"]] == [group["id"]]
    later = start + timedelta(minutes=10)
    patched = operator_client.patch(
        f"/api/move-groups/{group['id']}/",
        {"start_at": later.isoformat(), "window_start": (later + timedelta(minutes=5)).isoformat(),
         "window_end": (later + timedelta(hours=1)).isoformat()},
        content_type="application/json",
    )  # fmt: skip
    assert patched.status_code == 200 and patched.json()["start_at"].startswith(later.strftime("%Y-%m-%dT%H:%M"))
    cancelled = operator_client.post(f"/api/move-groups/{group['id']}/cancel/").json()
    assert cancelled["state"] == "cancelled"
    again = operator_client.patch(
        f"/api/move-groups/{group['id']}/", {"start_at": later.isoformat()}, content_type="application/json"
    )
    assert again.status_code == 400 and "can no longer be edited" in again.json()["errors"][0]
    actions = set(AuditEntry.objects.filter(via="api").values_list("action", flat=True))
    assert {"move_group.create", "move_group.reschedule", "move_group.cancel"} <= actions


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"destination_host": "HOST"}, "Give workloads"),
        ({"workloads": [999999], "destination_site": "SITE"}, "No workload with id 999999"),
        ({"workloads": "x", "destination_site": "SITE"}, "workloads"),
        ({"query": "site=nope", "destination_site": "SITE"}, "Filter site"),
        ({"workloads": ["WL"], "destination_site": "SITE", "concurrency": 0}, "concurrency"),
        ({"workloads": ["WL"], "destination_site": "SITE", "start_at": "tomorrow"}, "start_at"),
        ({"workloads": ["WL"], "destination_site": "SITE", "on_window_close": "pray"}, "on_window_close"),
    ],
)
def test_api_bad_input_is_a_400_naming_it_and_changes_nothing(topo, operator_client, body, says):
    ids = {"HOST": topo.ca_hosts[1].pk, "SITE": topo.va.pk, "WL": vms(topo, 1)[0].pk}
    body = {k: [ids.get(x, x) for x in v] if isinstance(v, list) else ids.get(v, v) for k, v in body.items()}
    response = operator_client.post("/api/move-groups/", body, content_type="application/json")
    assert response.status_code == 400
    assert says in " ".join(response.json()["errors"])
    assert MoveGroup.objects.count() == 0


def test_all_matching_this_filter_moves_every_match(topo, operator_client):
    ws = vms(topo, 3)
    factories.workload(topo.va_hosts[0], memory_gib=1, segment=topo.stretched)  # another host: not selected
    query = f"host={topo.ca_hosts[0].pk}&page=2"
    check = operator_client.post(
        "/api/move-groups/precheck/", {"query": query, "destination_host": topo.ca_hosts[1].pk},
        content_type="application/json",
    ).json()  # fmt: skip
    assert sorted(check["ready"]) == sorted(w.pk for w in ws)


def test_pages_select_check_create_and_follow_a_group(topo, operator_client, viewer):
    viewer_client = Client()
    viewer_client.force_login(viewer)
    ws = vms(topo, 3)
    page = operator_client.get("/moves/new/?" + "&".join(f"workload={w.pk}" for w in ws))
    assert page.status_code == 200 and b"Move 3 workloads" in page.content
    form = {"workload": [w.pk for w in ws], "destination_host": topo.ca_hosts[1].pk, "concurrency": 2,
            "policy": "throttle", "max_downtime_s": 0.3, "on_window_close": "abort"}  # fmt: skip
    checked = operator_client.post("/moves/new/", {**form, "action": "check"})
    assert b"3 ready" in checked.content and b'id="create-button"' in checked.content
    created = operator_client.post("/moves/new/", {**form, "action": "create", "name": "Rack 4"})
    assert created.status_code == 302
    group = MoveGroup.objects.get()
    assert group.name == "Rack 4" and group.state == "running" and Migration.objects.count() == 2
    detail = viewer_client.get(created["Location"])
    assert detail.status_code == 200 and b"Rack 4" in detail.content and b'id="cancel-group"' not in detail.content
    assert viewer_client.get("/moves/").status_code == 200
    assert viewer_client.post(f"/moves/{group.pk}/cancel/").status_code == 403
    assert operator_client.post(f"/moves/{group.pk}/cancel/").status_code == 302
    group.refresh_from_db()
    assert group.state == "cancelled"


def test_a_scheduled_group_is_on_the_calendar_and_editable_from_the_page(topo, operator_client):
    start = timezone.localtime() + timedelta(days=1)
    created = operator_client.post(
        "/moves/new/",
        {"workload": [w.pk for w in vms(topo, 2)], "destination_host": topo.ca_hosts[1].pk, "concurrency": 1,
         "policy": "throttle", "max_downtime_s": 0.3, "on_window_close": "switchover", "action": "create",
         "start_at": start.strftime("%Y-%m-%dT%H:%M"), "name": "Tomorrow"},
    )  # fmt: skip
    assert created.status_code == 302
    group = MoveGroup.objects.get()
    calendar = operator_client.get("/moves/")
    assert b"Tomorrow" in calendar.content and start.strftime("%A").encode() in calendar.content
    assert f"{start:%H:%M} {settings.TIME_ZONE}".encode() in calendar.content  # the start, its zone named
    later = start + timedelta(hours=2)
    edited = operator_client.post(
        f"/moves/{group.pk}/edit/",
        {"start_at": later.strftime("%Y-%m-%dT%H:%M"), "concurrency": 3, "on_window_close": "abort"},
    )
    assert edited.status_code == 302
    group.refresh_from_db()
    assert timezone.localtime(group.start_at).strftime("%H:%M") == later.strftime("%H:%M") and group.concurrency == 3
    bad = operator_client.post(
        f"/moves/{group.pk}/edit/",
        {"start_at": later.strftime("%Y-%m-%dT%H:%M"), "window_start": later.strftime("%Y-%m-%dT%H:%M"),
         "concurrency": 3, "on_window_close": "abort"},
    )  # fmt: skip
    assert bad.status_code == 200 and b"needs both" in bad.content
