"""`/api/` lists every API of every app, and every URL it lists answers."""

import pytest

EXPECTED = {
    "sites", "hosts", "workloads", "tags", "placement-rules", "migrations", "containers", "images", "pods",
    "dr/plans", "dr/drills", "capacity/recommendations", "capacity/evacuations", "assessments", "alarms",
    "alarms/rules", "move-groups", "audit", "schema", "docs",
}  # fmt: skip


@pytest.mark.django_db
def test_api_root_lists_every_app_and_each_link_answers(admin_client):
    body = admin_client.get("/api/", HTTP_ACCEPT="application/json").json()
    assert set(body) >= EXPECTED, sorted(EXPECTED - set(body))
    for key, url in body.items():
        assert url.startswith("http://testserver/api/"), (key, url)
        response = admin_client.get(url, HTTP_ACCEPT="text/html" if key == "docs" else "application/json")
        assert response.status_code == 200, (key, url, response.status_code)


def test_api_root_needs_a_login(client, db):
    assert client.get("/api/", HTTP_ACCEPT="application/json").status_code in (401, 403)
