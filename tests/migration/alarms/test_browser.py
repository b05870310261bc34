"""In a real browser: an alarm raised by the beat's task in a real worker appears live in the activity panel and
the alarm list; an operator acknowledges and clears; an admin edits a rule (a bad threshold is refused by name)
and reads the delivery log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from hybridcloud.celery import app
from migration.alarms.choices import AlarmState
from migration.alarms.models import Alarm, AlarmRule, Delivery, WebhookEndpoint
from tests import factories
from tests.conftest import browser_login, make_user, screenshot
from tests.migration.alarms import builders
from tests.migration.alarms.receiver import Receiver


@pytest.mark.browser
@pytest.mark.integration
def test_alarm_appears_live_is_acknowledged_and_cleared_and_admin_edits_rules(page, live_server_url, celery_worker):
    operator = make_user("otto", group="operators")
    make_user("ada", superuser=True)
    topo = factories.topology()
    now = timezone.now()
    AlarmRule.objects.all().delete()  # the default set, when the data migration's rows are there
    cpu = builders.rule("host_cpu", name="Host CPU over 85 % for 10 min", threshold=85, duration_minutes=10,
                        severity="critical")  # fmt: skip
    failed = builders.rule("migration_failed", name="A migration failed", severity="warning")
    builders.samples(topo.ca_hosts[0], now, [60, 91, 94, 96, 95])
    builders.failed_migration(topo, finished_at=now - timedelta(minutes=1), reason="the link to Virginia went down")

    with Receiver(secret="browser-test-secret") as receiver:
        endpoint = WebhookEndpoint.objects.create(name="pager", url=receiver.url, secret=receiver.secret)
        cpu.webhooks.add(endpoint)

        browser_login(page, live_server_url, operator.username)
        page.goto(live_server_url + "/alarms/")
        page.wait_for_selector("#live-indicator[data-state=live]")
        assert "every rule is quiet" in page.locator("#alarm-table").inner_text()
        assert page.locator("#activity-panel").is_hidden()

        app.send_task("migration.alarms.tasks.evaluate")
        # Pushed live: the panel on every page, and the list reads itself again.
        page.wait_for_selector("#activity-list li:has-text('Critical alarm')")
        page.wait_for_selector("#alarm-table tr[data-alarm]:nth-child(2)")
        assert "New alarm" in page.locator("#alarm-live").inner_text()
        rows = page.locator("#alarm-table tr[data-alarm]")
        assert "Critical" in rows.nth(0).inner_text() and "ca-esx-01" in rows.nth(0).inner_text()
        assert "CPU at 95 %" in rows.nth(0).inner_text() and "over 85 %" in rows.nth(0).inner_text()
        assert "the link to Virginia went down" in rows.nth(1).inner_text()
        assert "Open: 1 critical 1 warning 0 info" in " ".join(page.locator("#alarm-counts").inner_text().split())
        screenshot(page, "alarms-live")

        cpu_alarm = Alarm.objects.get(rule=cpu)
        page.locator(f"tr[data-alarm='{cpu_alarm.pk}'] .ack-button").click()
        page.wait_for_load_state("networkidle")
        assert Alarm.objects.get(pk=cpu_alarm.pk).state == AlarmState.ACKNOWLEDGED
        row = page.locator(f"tr[data-alarm='{cpu_alarm.pk}']")
        assert "Acknowledged" in row.inner_text() and "acknowledged by otto" in row.inner_text()
        # Acknowledged: no longer in the panel (only active alarms are).
        page.locator("#activity-list li", has_text="ca-esx-01").wait_for(state="detached")
        failed_alarm = Alarm.objects.get(rule=failed)
        page.locator(f"tr[data-alarm='{failed_alarm.pk}'] .clear-button").click()
        page.wait_for_load_state("networkidle")
        # Cleared goes below the open ones.
        assert page.locator("#alarm-table tr[data-alarm]").nth(1).get_attribute("data-alarm") == str(failed_alarm.pk)
        assert "Cleared" in page.locator(f"tr[data-alarm='{failed_alarm.pk}']").inner_text()
        screenshot(page, "alarms-acknowledged-and-cleared")

        page.goto(live_server_url + cpu_alarm.get_absolute_url())
        history = page.locator("#alarm-history").inner_text()
        assert "Raised" in history and "Acknowledged by otto" in history
        for _ in range(50):  # the worker delivers it within moments; the page shows the row as it is
            if "Delivered" in page.locator("#delivery-table").inner_text():
                break
            page.wait_for_timeout(200)
            page.reload()
        assert "Delivered" in page.locator("#delivery-table").inner_text()
        screenshot(page, "alarm-detail")

        # Operators do not edit rules: the form is read-only for them.
        page.goto(live_server_url + f"/alarms/rules/{cpu.pk}/")
        assert page.locator("#save-rule").count() == 0
        assert "Only administrators" in page.content()

    page.click("button:has-text('Sign out')")
    browser_login(page, live_server_url, "ada")
    page.goto(live_server_url + "/alarms/rules/")
    assert page.locator("#rule-table tbody tr").count() == 2
    screenshot(page, "alarm-rules")
    page.click(f"#rule-table a:has-text('{cpu.name}')")
    page.fill("#id_threshold", "150")
    page.click("#save-rule")
    error = page.locator("#row-threshold .errorlist").inner_text()
    assert "150 % is over 100 %" in error
    screenshot(page, "alarm-rule-refused")
    page.fill("#id_threshold", "80")
    page.fill("#id_email_to", "oncall@example.com")
    page.click("#save-rule")
    page.wait_for_selector(".message")
    cpu.refresh_from_db()
    assert cpu.threshold == 80 and cpu.email_recipients == ["oncall@example.com"]
    assert "Host CPU over 80 % for 10 min" in page.locator("#rule-table").inner_text()

    page.goto(live_server_url + "/alarms/webhooks/")
    endpoints = page.locator("#endpoint-table").inner_text()
    assert "pager" in endpoints and "attempts, first retry after" in endpoints and "enabled" in endpoints
    log = page.locator("#delivery-log").inner_text()
    assert "pager" in log and "Delivered" in log and "HTTP 200" in log
    assert Delivery.objects.get().attempts == 1
    screenshot(page, "alarm-webhooks")
    assert not page.console_errors, page.console_errors
