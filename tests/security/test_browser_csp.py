"""Every main page in a real Chromium with the production Content-Security-Policy: the header is there and the
browser reports no console error (a CSP violation is one), including the Swagger UI of /api/docs/."""

import contextlib

import pytest
from django.core.management import call_command
from django.urls import NoReverseMatch, reverse

from containers.models import ContainerHost
from hybridcloud.core.audit import audit_record
from inventory.choices import WorkloadKind
from inventory.models import Host, Site, Workload
from migration.dr.models import RecoveryPlan
from tests.conftest import browser_login, make_user, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def main_pages() -> list[tuple[str, str, str]]:
    """(name, path, a selector that shows the page rendered)."""
    vm = Workload.objects.filter(kind=WorkloadKind.VM).order_by("pk").first()
    pages = [
        ("overview", "/", "#topology-chart .main-svg"),
        ("workloads", "/workloads/", "#workloads-table tbody tr"),
        ("workload", f"/workloads/{vm.pk}/", "h1"),
        ("site", f"/sites/{Site.objects.order_by('pk').first().pk}/", "h1"),
        ("host", f"/hosts/{Host.objects.order_by('pk').first().pk}/", "h1"),
        ("migrations", "/migrations/", "#migration-table"),
        ("migration-wizard", f"/migrations/new/?workload={vm.pk}", "h1"),
        ("containers", "/containers/", "h1"),
        ("container-host", f"/containers/hosts/{ContainerHost.objects.order_by('pk').first().name}/", "h1"),
        ("dr-plans", "/dr/", "h1"),
        ("dr-plan", f"/dr/plans/{RecoveryPlan.objects.order_by('pk').first().pk}/", "h1"),
        ("audit", "/audit/", "#audit-table tbody tr[data-id]"),
        ("api-docs", "/api/docs/", "#swagger-ui .opblock"),
    ]
    with contextlib.suppress(NoReverseMatch):  # capacity planning may not have landed yet
        pages.append(("capacity", reverse("capacity:index"), "h1"))
    return pages


def test_every_main_page_satisfies_the_content_security_policy(live_server_url, page):
    call_command("seed_demo", workloads=30, verbosity=0)
    operator = make_user("opal", group="operators")
    audit_record(action="inventory.change", actor=operator, before={"state": "a"}, after={"state": "b"}, via="cli")
    browser_login(page, live_server_url, "opal")
    violations = []
    page.on("console", lambda msg: "Content Security Policy" in msg.text and violations.append(msg.text))
    for name, path, ready in main_pages():
        page.console_errors.clear()
        response = page.goto(live_server_url + path)
        assert response.status == 200, f"{name}: {response.status}"
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy and "default-src 'self'" in policy, f"{name}: CSP header {policy!r}"
        page.wait_for_selector(ready)
        page.wait_for_load_state("networkidle")
        screenshot(page, f"security-csp-{name}")
        assert not page.console_errors, f"{name} ({path}): {page.console_errors}"
    assert not violations, violations
