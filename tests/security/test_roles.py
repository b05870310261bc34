"""Roles beyond the page matrix: a signed-in user in no group sees nothing (pages, API by session and by token, the
Docker endpoint, websockets); staff admins keep access; the inventory API's writes follow Django model permissions.

(tests/security/test_permission_matrix.py walks every URL pattern for the no-group role too.)
"""

import pytest
from channels.db import database_sync_to_async
from django.contrib.auth.models import Permission
from django.test import Client
from rest_framework.authtoken.models import Token

from hybridcloud.asgi import application
from hybridcloud.core.models import AuditEntry
from hybridcloud.routing import websocket_urlpatterns
from inventory.models import Site
from tests import factories
from tests.conftest import make_user
from tests.security.test_websocket_access import _connect, _objects, _routes

NO_ROLE = "ask an administrator for access"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_a_user_in_no_group_gets_the_friendly_403_page(no_role_user):
    factories.topology()
    client = signed_in(no_role_user)
    for url in ("/", "/workloads/", "/migrations/", "/containers/", "/dr/", "/capacity/", "/audit/", "/admin/"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert NO_ROLE in response.content.decode().lower(), url
    assert client.get("/health/").status_code == 200
    assert client.get("/login/").status_code in (200, 302)
    assert client.post("/logout/").status_code == 302  # signing out stays open
    assert client.get("/").status_code == 302  # now simply signed out: to the login page


@pytest.mark.django_db
def test_the_api_refuses_a_user_in_no_group_by_session_and_by_token(no_role_user):
    factories.topology()
    token = Token.objects.create(user=no_role_user).key
    by_token = Client()
    for client, headers in ((signed_in(no_role_user), {}), (by_token, {"authorization": f"Token {token}"})):
        for url in ("/api/", "/api/schema/", "/api/sites/", "/api/workloads/", "/api/migrations/", "/api/dr/plans/"):
            response = client.get(url, headers=headers)
            assert response.status_code == 403, (url, headers)
            assert NO_ROLE in response.content.decode(), url


@pytest.mark.django_db
def test_the_docker_endpoint_refuses_a_token_of_a_user_in_no_group(no_role_user):
    token = Token.objects.create(user=no_role_user).key
    response = Client().get("/docker/anything/v1.50/containers/json", headers={"authorization": f"Token {token}"})
    assert response.status_code == 403 and NO_ROLE in response.json()["message"]


@pytest.mark.django_db
def test_staff_admins_and_superusers_keep_access(admin_user):
    factories.topology()
    staff = make_user("stan")
    staff.is_staff = True
    staff.save()
    for user in (staff, admin_user):
        client = signed_in(user)
        assert client.get("/").status_code == 200
        assert client.get("/api/sites/").status_code == 200
        assert client.get("/api/schema/").status_code == 200


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_every_websocket_refuses_a_user_in_no_group_with_4403(ws_headers, operator):
    nobody = await database_sync_to_async(make_user)("nora")
    migration, drill = await _objects(operator)
    headers = await database_sync_to_async(ws_headers)(nobody)
    routes = _routes(migration, drill)
    assert len(routes) == len(websocket_urlpatterns)  # every route of the project
    for path in routes:
        communicator, connected, code = await _connect(path, headers)
        assert not connected and code == 4403, path
        await communicator.disconnect()
    viewer_headers = await database_sync_to_async(ws_headers)(operator)
    communicator, connected, _ = await _connect(routes[0], viewer_headers)
    assert connected  # the same route accepts a user with a role
    await communicator.disconnect()
    assert application is not None


# -- the inventory API: Django model permissions, both directions ------------------------------------------------


def grant(user, *codenames):
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="inventory", codename__in=codenames))
    return type(user)._default_manager.get(pk=user.pk)  # a fresh instance: the permission cache is per instance


@pytest.mark.django_db
def test_inventory_writes_need_the_model_permission_not_staff(operator):
    topo = factories.topology()
    staff = make_user("stan", group="viewers")
    staff.is_staff = True
    staff.save()
    site = topo.ca
    # Staff without the permission: refused, and the message says which permission is missing.
    response = signed_in(staff).patch(f"/api/sites/{site.pk}/", {"location": "Elsewhere"}, "application/json")
    assert response.status_code == 403, response.content
    assert "permission to change sites" in response.json()["detail"]
    # An operator (not staff) granted change_site may change a site, and only change it.
    operator = grant(operator, "change_site")
    client = signed_in(operator)
    response = client.patch(f"/api/sites/{site.pk}/", {"location": "Sacramento"}, "application/json")
    assert response.status_code == 200, response.content
    assert Site.objects.get(pk=site.pk).location == "Sacramento"
    assert AuditEntry.objects.filter(action="inventory.change", object_id=str(site.pk)).exists()
    response = client.delete(f"/api/sites/{site.pk}/")
    assert response.status_code == 403 and "permission to delete sites" in response.json()["detail"]
    response = client.post("/api/sites/", {"name": "New", "kind": "private"}, "application/json")
    assert response.status_code == 403 and "permission to add sites" in response.json()["detail"]
    assert Site.objects.filter(pk=site.pk).exists() and not Site.objects.filter(name="New").exists()
    # Staff granted it by a group's permission: allowed too.
    staff = grant(staff, "change_site")
    assert signed_in(staff).patch(f"/api/sites/{site.pk}/", {"location": "X"}, "application/json").status_code == 200


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_in_a_browser_a_user_in_no_group_is_told_to_ask_an_administrator(page, live_server_url):
    from tests.conftest import browser_login, screenshot

    make_user("nora")
    browser_login(page, live_server_url, "nora")  # the login form works, and lands on the overview ...
    assert page.locator("#no-role h1").inner_text() == "You have no access yet"  # ... which answers 403
    assert "Ask an administrator for access." in page.locator("#no-role").inner_text()
    screenshot(page, "no-role-403")
    assert page.locator(".mainnav a").count() == 0  # no links to pages that would refuse them
    page.click("text=Sign out")
    page.wait_for_url("**/login/**")
    # The only console line: Chromium noting the page's own 403 status; no script or asset failed.
    assert all("status of 403" in e for e in page.console_errors), page.console_errors
