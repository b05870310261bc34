"""Alarms end to end with a real Celery worker process and a local webhook receiver that checks the signature:
the beat's task raises the alarm once, the worker posts it signed, retries with exponential backoff when the
receiver fails, and the delivery log shows every attempt."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from hybridcloud.celery import app
from migration.alarms.choices import DeliveryStatus
from migration.alarms.models import Alarm, Delivery, DeliveryAttempt, WebhookEndpoint
from tests import factories
from tests.conftest import start_celery_worker
from tests.migration.alarms import builders
from tests.migration.alarms.receiver import Receiver

pytestmark = pytest.mark.integration

EVALUATE = "migration.alarms.tasks.evaluate"


def wait_for(predicate, timeout: float = 40.0, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_webhook_failing_twice_is_retried_with_backoff_and_delivered_on_the_third_attempt(celery_worker):
    topo = factories.topology()
    rule = builders.rule("migration_failed", severity="critical")
    builders.only_rules(rule)
    with Receiver(secret="s3cret-shared-with-the-receiver", script=[500, 503, 200]) as receiver:
        endpoint = WebhookEndpoint.objects.create(
            name="pager", url=receiver.url, secret=receiver.secret, retry_backoff_s=0.5, max_attempts=5
        )
        rule.webhooks.add(endpoint)
        migration = builders.failed_migration(topo, finished_at=timezone.now() - timedelta(seconds=5))

        app.send_task(EVALUATE)
        delivery = wait_for(
            lambda: Delivery.objects.filter(status=DeliveryStatus.DELIVERED).first(), what="the delivery"
        )
        # The same evaluation again, twice, through the worker: nothing is raised or sent twice.
        app.send_task(EVALUATE)
        app.send_task(EVALUATE)
        time.sleep(2.0)

        alarm = Alarm.objects.get()
        assert alarm.object_type == "migration" and alarm.object_id == migration.pk
        assert Delivery.objects.count() == 1
        attempts = list(DeliveryAttempt.objects.filter(delivery=delivery).order_by("number"))
        assert [(a.number, a.response_code, a.ok) for a in attempts] == [
            (1, 500, False),
            (2, 503, False),
            (3, 200, True),
        ]
        assert delivery.attempts == 3 and delivery.response_code == 200 and delivery.delivered_at is not None

        # What the receiver saw: three signed requests about this alarm, spaced by the doubling backoff.
        assert [r.status for r in receiver.requests] == [500, 503, 200]
        assert all(r.signature_ok for r in receiver.requests)
        assert {r.body["alarm"]["id"] for r in receiver.requests} == {alarm.pk}
        assert [r.body["delivery"]["attempt"] for r in receiver.requests] == [1, 2, 3]
        assert receiver.requests[0].body["alarm"]["severity"] == "critical"
        gaps = [b.at - a.at for a, b in zip(receiver.requests, receiver.requests[1:], strict=False)]
        assert gaps[0] >= 0.5 and gaps[1] >= 1.0, gaps
        assert gaps[1] > gaps[0]


def test_a_receiver_refuses_a_wrong_signature_and_the_delivery_fails_after_its_last_attempt(celery_worker):
    topo = factories.topology()
    rule = builders.rule("migration_failed")
    builders.only_rules(rule)
    with Receiver(secret="the-receivers-secret") as receiver:
        endpoint = WebhookEndpoint.objects.create(
            name="misconfigured", url=receiver.url, secret="not-the-same-secret", retry_backoff_s=0.2, max_attempts=2
        )
        rule.webhooks.add(endpoint)
        builders.failed_migration(topo, finished_at=timezone.now() - timedelta(seconds=5))
        app.send_task(EVALUATE)
        delivery = wait_for(lambda: Delivery.objects.filter(status=DeliveryStatus.FAILED).first(), what="failure")
        assert [r.status for r in receiver.requests] == [401, 401]
        assert not any(r.signature_ok for r in receiver.requests)
        assert delivery.attempts == 2 and delivery.response_code == 401 and "401" in delivery.last_error
        assert delivery.next_retry_at is None


def test_a_delivery_whose_worker_is_killed_mid_request_is_resumed_by_the_beat_and_sent_once_more(transactional_db):
    """SIGKILL the worker process group that is waiting on the receiver: the evaluation tick re-enqueues the overdue
    delivery, another worker sends it, the claimed attempt number keeps the lost attempt from being reused."""
    app.control.purge()
    topo = factories.topology()
    rule = builders.rule("migration_failed")
    builders.only_rules(rule)
    worker = start_celery_worker("alarms-fault", concurrency=1)
    try:
        with Receiver(secret="held", delays=[30.0]) as receiver:
            endpoint = WebhookEndpoint.objects.create(
                name="slow", url=receiver.url, secret=receiver.secret, timeout_s=30
            )
            rule.webhooks.add(endpoint)
            builders.failed_migration(topo, finished_at=timezone.now() - timedelta(seconds=5))
            app.send_task(EVALUATE)
            wait_for(lambda: receiver.started == 1, what="the first request to reach the receiver")
            worker.kill()
            delivery = Delivery.objects.get()
            assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1  # claimed, never recorded

            worker = start_celery_worker("alarms-fault-2", concurrency=1)
            app.send_task(EVALUATE, kwargs={"resume_grace_s": 0})
            delivered = wait_for(
                lambda: Delivery.objects.filter(status=DeliveryStatus.DELIVERED).first(), what="the resumed delivery"
            )
            assert delivered.attempts == 2
            assert list(delivered.attempt_log.values_list("number", "response_code")) == [(2, 200)]
            assert receiver.started == 2 and [r.status for r in receiver.requests] == [200]
            assert Alarm.objects.count() == 1
    finally:
        worker.stop()
