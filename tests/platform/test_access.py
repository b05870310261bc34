"""Sign-in, roles and the health endpoint."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_anonymous_page_request_redirects_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_login_page_and_health_are_public(client):
    assert client.get(reverse("login")).status_code == 200
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_signed_in_user_sees_overview_with_navigation(viewer_client):
    response = viewer_client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    for label in ("Overview", "Workloads", "Migrations", "Containers", "DR"):
        assert f">{label}</a>" in html
    assert "vera" in html
    assert 'id="live-indicator"' in html


def test_admin_link_only_for_staff(viewer_client, admin_user, client):
    assert ">Admin</a>" not in viewer_client.get("/").content.decode()
    client.force_login(admin_user)
    assert ">Admin</a>" in client.get("/").content.decode()


def test_plotly_is_served_from_the_plotly_package(viewer_client):
    response = viewer_client.get("/static/vendor/plotly/plotly.min.js")
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"plotly" in body[:2000].lower()


def test_roles_created_by_data_migration():
    assert set(Group.objects.values_list("name", flat=True)) >= {"viewers", "operators"}


def test_login_form_signs_in_and_logout_signs_out(client, viewer):
    response = client.post(reverse("login"), {"username": "vera", "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    client.post(reverse("logout"))
    assert client.get("/").status_code == 302


def test_wrong_password_says_so(client, viewer):
    response = client.post(reverse("login"), {"username": "vera", "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_failed_logins_are_throttled(client, viewer, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(3):
        client.post(reverse("login"), {"username": "vera", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "vera", "password": "correct-horse-battery"})
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()


def test_logout_requires_post_with_csrf(viewer, client):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(viewer)
    assert csrf_client.post(reverse("logout")).status_code == 403


def test_admin_login_is_throttled_too(client, admin_user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    url = reverse("admin:login")
    for _ in range(3):
        client.post(url, {"username": "ada", "password": "wrong"})
    response = client.post(url, {"username": "ada", "password": "correct-horse-battery"})
    assert response.status_code == 429
    assert not client.get(reverse("admin:index")).wsgi_request.user.is_authenticated


def test_lockout_ends_after_the_cool_off(client, viewer, settings):
    import time
    from datetime import timedelta

    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(seconds=1)
    for _ in range(2):
        client.post(reverse("login"), {"username": "vera", "password": "wrong"})
    assert client.post(reverse("login"), {"username": "vera", "password": "correct-horse-battery"}).status_code == 429
    time.sleep(1.2)
    response = client.post(reverse("login"), {"username": "vera", "password": "correct-horse-battery"})
    assert response.status_code == 302
