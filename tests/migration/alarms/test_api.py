"""The alarms API: lists open first, refuses bad filters by name, acknowledges and clears once (409 after), rules
for administrators only with the model's rules (400 naming the field, nothing created)."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from hybridcloud.core.models import AuditEntry
from migration.alarms import services
from migration.alarms.models import Alarm, AlarmEvent, AlarmRule
from tests import factories
from tests.migration.alarms import builders

pytestmark = pytest.mark.django_db


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def two_alarms():
    topo = factories.topology()
    now = timezone.now().replace(microsecond=0)
    info = builders.rule("host_cpu", name="cpu info", threshold=50, severity="info")
    critical = builders.rule("migration_failed", name="failed critical", severity="critical")
    builders.only_rules(info, critical)
    builders.samples(topo.ca_hosts[0], now, [90])
    builders.failed_migration(topo, finished_at=now - timedelta(minutes=1))
    services.alarms_evaluate(now=now)
    return Alarm.objects.get(rule=info), Alarm.objects.get(rule=critical)


def test_list_puts_open_alarms_first_and_the_most_severe_first(two_alarms, viewer, operator):
    info, critical = two_alarms
    services.alarm_clear(alarm_id=critical.pk, user=operator)
    services.alarms_evaluate()  # nothing new
    response = client_for(viewer).get("/api/alarms/")
    assert response.status_code == 200
    assert [a["id"] for a in response.json()["results"]] == [info.pk, critical.pk]
    open_only = client_for(viewer).get("/api/alarms/?state=open").json()["results"]
    assert [a["id"] for a in open_only] == [info.pk]
    bad = client_for(viewer).get("/api/alarms/?state=opened&severity=loud")
    assert bad.status_code == 400
    assert bad.json()["errors"] == [
        "state: “opened” is not one of open, active, acknowledged, cleared.",
        "severity: “loud” is not one of info, warning, critical.",
    ]


def test_acknowledge_then_clear_once_each_and_the_history_says_who(two_alarms, operator, viewer):
    info, _ = two_alarms
    api = client_for(operator)
    assert client_for(viewer).post(f"/api/alarms/{info.pk}/acknowledge/", {}).status_code == 403
    ack = api.post(f"/api/alarms/{info.pk}/acknowledge/", {"note": "looking"}, format="json")
    assert ack.status_code == 200 and ack.json()["state"] == "acknowledged"
    assert ack.json()["acknowledged_by"] == operator.username
    again = api.post(f"/api/alarms/{info.pk}/acknowledge/", {}, format="json")
    assert again.status_code == 409 and "only an active alarm" in again.json()["errors"][0]
    assert api.post(f"/api/alarms/{info.pk}/clear/", {"note": "x" * 1001}, format="json").status_code == 400
    assert api.post(f"/api/alarms/{info.pk}/clear/", {}, format="json").json()["state"] == "cleared"
    assert api.post(f"/api/alarms/{info.pk}/clear/", {}, format="json").status_code == 409
    assert api.post("/api/alarms/999999/clear/", {}, format="json").status_code == 404
    detail = client_for(viewer).get(f"/api/alarms/{info.pk}/").json()
    assert [(e["action"], e["actor"], e["note"]) for e in detail["events"]] == [
        ("raised", None, detail["message"]),
        ("acknowledged", operator.username, "looking"),
        ("cleared", operator.username, ""),
    ]


def test_rules_are_for_administrators_and_a_bad_rule_is_refused_by_field(operator, admin_user):
    body = {"name": "Loss", "kind": "link_loss", "severity": "critical"}
    assert client_for(operator).post("/api/alarms/rules/", body, format="json").status_code == 403
    before = AlarmRule.objects.count()
    refused = client_for(admin_user).post("/api/alarms/rules/", body, format="json")
    assert refused.status_code == 400 and "needs a threshold" in str(refused.json())
    assert AlarmRule.objects.count() == before
    created = client_for(admin_user).post("/api/alarms/rules/", {**body, "threshold": 2}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["condition"] == "Link packet loss over 2 %"
    rule_id = created.json()["id"]
    patched = client_for(admin_user).patch(f"/api/alarms/rules/{rule_id}/", {"threshold": 150}, format="json")
    assert patched.status_code == 400 and "150 % is over 100 %" in str(patched.json()["threshold"])
    assert AlarmRule.objects.get(pk=rule_id).threshold == 2  # nothing changed on refusal


def test_a_new_alarm_is_emailed_through_djangos_backend(mailoutbox):
    topo = factories.topology()
    rule = builders.rule("migration_failed", name="Failed moves", email_to="ops@example.com oncall@example.com")
    builders.only_rules(rule)
    builders.failed_migration(topo, finished_at=timezone.now() - timedelta(minutes=1), reason="no capacity")
    [alarm_id] = services.alarms_evaluate().raised
    delivery = Alarm.objects.get(pk=alarm_id).deliveries.get()
    assert services.delivery_attempt(delivery_id=delivery.pk) == "delivered"
    [mail] = mailoutbox
    assert mail.to == ["ops@example.com", "oncall@example.com"]
    assert mail.subject.startswith("[HybridCloud Warning] Failed moves:")
    assert "no capacity" in mail.body and f"/alarms/{alarm_id}/" in mail.body
    # A second delivery of the same task sends nothing more.
    assert services.delivery_attempt(delivery_id=delivery.pk) == "skipped" and len(mailoutbox) == 1
    assert AlarmEvent.objects.filter(alarm_id=alarm_id).count() == 1


def test_a_failing_mail_server_schedules_a_retry_with_backoff(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    topo = factories.topology()
    rule = builders.rule("migration_failed", email_to="ops@example.com")
    builders.only_rules(rule)
    builders.failed_migration(topo, finished_at=timezone.now() - timedelta(minutes=1))
    [alarm_id] = services.alarms_evaluate().raised
    delivery = Alarm.objects.get(pk=alarm_id).deliveries.get()
    assert services.delivery_attempt(delivery_id=delivery.pk) == "retrying"
    delivery.refresh_from_db()
    [attempt] = delivery.attempt_log.all()
    assert not attempt.ok and "ConnectionRefusedError" in attempt.error
    wait = (delivery.next_retry_at - attempt.at).total_seconds()
    assert wait == pytest.approx(services.EMAIL_BACKOFF_S, abs=0.01)
    # Not due yet: a duplicate task does nothing.
    assert services.delivery_attempt(delivery_id=delivery.pk) == "skipped"


def test_rule_changes_are_on_the_audit_trail(admin_user):
    api = client_for(admin_user)
    rule_id = api.post(
        "/api/alarms/rules/", {"name": "Loss", "kind": "link_loss", "threshold": 2}, format="json"
    ).json()["id"]
    api.patch(f"/api/alarms/rules/{rule_id}/", {"threshold": 3}, format="json")
    assert api.delete(f"/api/alarms/rules/{rule_id}/").status_code == 204
    entries = list(AuditEntry.objects.filter(object_id=str(rule_id)).order_by("pk"))
    assert [e.action for e in entries] == ["alarm_rule.create", "alarm_rule.change", "alarm_rule.delete"]
    assert entries[1].before["threshold"] == 2 and entries[1].after["threshold"] == 3


def test_the_page_refused_a_second_acknowledgement_says_why_as_the_api_does(two_alarms, operator, client):
    info, _ = two_alarms
    services.alarm_acknowledge(alarm_id=info.pk, user=operator)
    client.force_login(operator)
    page = client.post(f"/alarms/{info.pk}/acknowledge/", {"note": ""}, follow=True)
    assert page.status_code == 200
    assert [str(m) for m in page.context["messages"]] == [
        f"Alarm #{info.pk} is acknowledged: only an active alarm can be acknowledged."
    ]


def test_the_delivery_logs_csv_lists_each_attempt_in_full_on_its_own_line(settings, viewer_client):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    topo = factories.topology()
    builders.only_rules(builders.rule("migration_failed", email_to="ops@example.com"))
    builders.failed_migration(topo, finished_at=timezone.now() - timedelta(minutes=1))
    [alarm_id] = services.alarms_evaluate().raised
    delivery = Alarm.objects.get(pk=alarm_id).deliveries.get()
    assert services.delivery_attempt(delivery_id=delivery.pk) == "retrying"
    delivery.refresh_from_db()
    delivery.next_retry_at = timezone.now() - timedelta(seconds=1)  # due now
    delivery.save(update_fields=["next_retry_at"])
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert services.delivery_attempt(delivery_id=delivery.pk) == "delivered"

    response = viewer_client.get("/alarms/webhooks/?export=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    [row] = [r for r in rows if r["alarm"] == f"#{alarm_id}"]
    first, second = row["each_attempt"].split("\n")
    assert first.startswith("1. ") and "failed (" in first and "ConnectionRefusedError" in first and "<" not in first
    assert second.startswith("2. ") and ": sent, " in second and second.endswith(" ms")
    assert row["attempts"] == "2 of 5" and row["status"] == "delivered"
