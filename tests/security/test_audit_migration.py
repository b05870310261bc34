"""The audit trail records a migration started from the API with the token's user and shows it on the audit page."""

import pytest
from rest_framework.authtoken.models import Token

from hybridcloud.core.models import AuditEntry
from migration.models import Migration
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def topo():
    return factories.topology()


def test_migration_started_with_a_token_is_recorded_for_the_tokens_user_and_shown_on_the_audit_page(
    client, operator, topo
):
    vm = factories.workload(topo.ca_hosts[0], segment=topo.ca_local)
    token = Token.objects.create(user=operator)
    response = client.post(
        "/api/migrations/",
        {"workload": vm.pk, "destination_host": topo.ca_hosts[1].pk, "policy": "force"},
        "application/json",
        headers={"authorization": f"Token {token.key}", "user-agent": "ops-script/1.0"},
        REMOTE_ADDR="198.51.100.7",
    )
    assert response.status_code == 201, response.content
    migration = Migration.objects.get(pk=response.json()["id"])
    entry = AuditEntry.objects.get(action="migration.start")
    assert entry.actor == operator and entry.actor_label == "otto"
    assert entry.via == "api" and entry.source_ip == "198.51.100.7" and entry.user_agent == "ops-script/1.0"
    assert entry.object_id == str(migration.pk)

    client.force_login(operator)
    page = client.get("/audit/?action=migration.start").content.decode()
    assert "migration.start" in page and "otto" in page and "198.51.100.7" in page
    api = client.get("/api/audit/?actor=otto").json()
    assert [e["action"] for e in api["results"]] == ["migration.start"]


def test_cancel_from_the_page_is_recorded_with_the_operator_and_the_ui_channel(operator_client, operator, topo):
    from migration.services import migration_start

    vm = factories.workload(topo.ca_hosts[0], segment=topo.ca_local)
    migration = migration_start(workload=vm, destination_host=topo.ca_hosts[1], requested_by=operator, policy="force")
    response = operator_client.post(f"/migrations/{migration.pk}/cancel/", REMOTE_ADDR="192.0.2.44")
    assert response.status_code in (200, 302)
    entry = AuditEntry.objects.get(action="migration.cancel")
    assert entry.actor == operator and entry.via == "ui" and entry.source_ip == "192.0.2.44"
    assert entry.after["state"] == "cancelled" and entry.object_id == str(migration.pk)


def test_overriding_a_warning_from_the_api_is_recorded_with_the_written_reason(client, operator, topo):
    vm = factories.workload(topo.ca_hosts[0], segment=topo.stretched)
    token = Token.objects.create(user=operator)
    body = {"workload": vm.pk, "destination_host": topo.va_hosts[0].pk}
    headers = {"authorization": f"Token {token.key}"}

    refused = client.post("/api/migrations/", body, "application/json", headers=headers)
    assert refused.status_code == 400
    assert not AuditEntry.objects.filter(action__startswith="migration").exists()

    reason = "Datacenter exit: storage moves with the VM (change CHG-1042)."
    response = client.post("/api/migrations/", {**body, "override_reason": reason}, "application/json", headers=headers)
    assert response.status_code == 201, response.content
    entry = AuditEntry.objects.get(action="migration.override")
    assert entry.actor == operator and entry.via == "api"
    assert reason in entry.message or reason in str(entry.after)
    assert "ca-vsan" in str(entry.after) or "ca-vsan" in entry.message  # the overridden warning is on record
