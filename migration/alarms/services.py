"""Writes of the alarms app: evaluating the rules (raise, refresh, resolve), acknowledging and clearing, and
delivering notifications with retries.

Rules that hold everywhere here:
- every change is written before it is announced: tasks are enqueued and pushes sent on commit;
- raising is idempotent: an alarm is created under the key of its rule and object, and the constraints of
  `Alarm` refuse a second open one (and a second one ever for an event), so evaluating twice at the same instant,
  or two beats racing, raise nothing twice and send nothing twice;
- state changes are conditional updates (`state` in the expected ones), so a second click changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from hybridcloud.core import events
from hybridcloud.core.audit import audit_record
from hybridcloud.core.refusals import Refused
from migration.alarms import notify, selectors
from migration.alarms.choices import OPEN_STATES, UNSENT_STATUSES, AlarmAction, AlarmState, Channel, DeliveryStatus
from migration.alarms.models import Alarm, AlarmEvent, AlarmRule, Delivery, DeliveryAttempt

logger = logging.getLogger(__name__)

DELIVER_TASK = "migration.alarms.tasks.deliver"
#: E-mail retries (webhooks take theirs from the endpoint).
EMAIL_MAX_ATTEMPTS = 5
EMAIL_BACKOFF_S = 60.0


@dataclass
class EvaluationResult:
    raised: list[int] = field(default_factory=list)
    refreshed: int = 0
    resolved: list[int] = field(default_factory=list)


# -- evaluation --------------------------------------------------------------------------------------------------


def alarms_evaluate(*, now: datetime | None = None, rule_ids: list[int] | None = None) -> EvaluationResult:
    """Evaluates every enabled rule (or those of `rule_ids`) at `now`: raises an alarm for each new finding,
    refreshes `last_seen` and the message of open ones, and resolves the open alarms of condition rules whose
    condition no longer holds (event alarms stay until a person clears them). Undecided objects (stale telemetry)
    (see selectors.RuleFindings) keep their alarms as they are."""
    now = now or timezone.now()
    result = EvaluationResult()
    rules = AlarmRule.objects.filter(enabled=True).prefetch_related("webhooks")
    if rule_ids is not None:
        rules = rules.filter(pk__in=rule_ids)
    for rule in rules:
        found = selectors.rule_findings(rule=rule, now=now)
        open_alarms = {a.key: a for a in Alarm.objects.filter(rule=rule, state__in=OPEN_STATES)}
        seen: set[str] = set()
        for finding in found.findings:
            key = selectors.alarm_key(rule_id=rule.pk, object_type=finding.object_type, object_id=finding.object_id)
            seen.add(key)
            if key in open_alarms:
                # Only forward in time: the same instant twice writes nothing twice.
                result.refreshed += Alarm.objects.filter(pk=open_alarms[key].pk, last_seen__lt=now).update(
                    last_seen=now, value=finding.value, message=finding.message
                )
                continue
            alarm_id = _alarm_raise(rule=rule, key=key, finding=finding, now=now)
            if alarm_id is not None:
                result.raised.append(alarm_id)
        if selectors.rule_is_event(rule):
            continue
        for key, alarm in open_alarms.items():
            decided = found.decided is None or (alarm.object_type, alarm.object_id) in found.decided
            if key in seen or not decided or alarm.last_seen > now:
                continue
            if _alarm_close(
                alarm_id=alarm.pk, action=AlarmAction.RESOLVED, actor=None, now=now, note="The condition ended."
            ):
                result.resolved.append(alarm.pk)
    return result


def _alarm_raise(*, rule: AlarmRule, key: str, finding: selectors.Finding, now: datetime) -> int | None:
    """Creates the alarm, its first history line and its deliveries in one transaction; on commit, enqueues the
    deliveries and pushes it to the activity panel. None when it already exists (a concurrent evaluation)."""
    event = selectors.rule_is_event(rule)
    if event and Alarm.objects.filter(key=key).exists():
        return None
    try:
        with transaction.atomic():
            if event:
                episode = 0
            else:
                last = Alarm.objects.filter(key=key).aggregate(m=Max("episode"))["m"]
                episode = 0 if last is None else last + 1
            alarm = Alarm.objects.create(
                rule=rule,
                key=key,
                episode=episode,
                object_type=finding.object_type,
                object_id=finding.object_id,
                object_name=finding.object_name[:200],
                object_url=finding.object_url,
                severity=rule.severity,
                state=AlarmState.ACTIVE,
                message=finding.message,
                value=finding.value,
                first_seen=now,
                last_seen=now,
            )
            AlarmEvent.objects.create(alarm=alarm, at=now, action=AlarmAction.RAISED, note=finding.message)
            deliveries = _deliveries_create(alarm=alarm, rule=rule, now=now)
    except IntegrityError:
        return None
    transaction.on_commit(lambda: _enqueue(deliveries))
    transaction.on_commit(lambda: publish_alarm(alarm), robust=True)
    return alarm.pk


def alarm_payload(alarm: Alarm, *, event: str = "alarm.raised") -> dict:
    """The JSON a webhook receives (and the e-mail's text reads from)."""
    return {
        "event": event,
        "alarm": {
            "id": alarm.pk,
            "url": settings.SITE_URL.rstrip("/") + alarm.get_absolute_url(),
            "rule": {"id": alarm.rule_id, "name": alarm.rule.name, "kind": alarm.rule.kind},
            "severity": alarm.severity,
            "state": alarm.state,
            "object": {"type": alarm.object_type, "id": alarm.object_id, "name": alarm.object_name},
            "message": alarm.message,
            "value": alarm.value,
            "first_seen": alarm.first_seen.isoformat(),
            "last_seen": alarm.last_seen.isoformat(),
        },
    }


def _deliveries_create(*, alarm: Alarm, rule: AlarmRule, now: datetime) -> list[int]:
    payload = alarm_payload(alarm)
    rows = []
    if rule.email_recipients:
        rows.append(
            Delivery(
                alarm=alarm,
                channel=Channel.EMAIL,
                recipients=", ".join(rule.email_recipients),
                payload=payload,
                max_attempts=EMAIL_MAX_ATTEMPTS,
                backoff_s=EMAIL_BACKOFF_S,
                created_at=now,
                next_retry_at=now,
            )
        )
    for endpoint in rule.webhooks.all():
        if endpoint.enabled:
            rows.append(
                Delivery(
                    alarm=alarm,
                    channel=Channel.WEBHOOK,
                    endpoint=endpoint,
                    payload=payload,
                    max_attempts=endpoint.max_attempts,
                    backoff_s=endpoint.retry_backoff_s,
                    created_at=now,
                    next_retry_at=now,
                )
            )
    return [d.pk for d in Delivery.objects.bulk_create(rows)] if rows else []


def _enqueue(delivery_ids: list[int], countdown: float = 0.0) -> None:
    for delivery_id in delivery_ids:
        current_app.send_task(DELIVER_TASK, args=(delivery_id,), countdown=countdown)


def publish_alarm(alarm: Alarm) -> None:
    events.publish_activity({"type": "alarm", "item": selectors.activity_item(alarm)})


# -- people's actions --------------------------------------------------------------------------------------------


class AlarmStateError(Refused):
    """The alarm is not in a state that allows the action (it was acknowledged or cleared meanwhile): the API
    answers 409."""

    status_code = 409


def _alarm_close(*, alarm_id: int, action: str, actor, now: datetime, note: str = "") -> bool:
    with transaction.atomic():
        done = Alarm.objects.filter(pk=alarm_id, state__in=OPEN_STATES).update(
            state=AlarmState.CLEARED, cleared_at=now, cleared_by=actor
        )
        if not done:
            return False
        AlarmEvent.objects.create(alarm_id=alarm_id, at=now, action=action, actor=actor, note=note)
        transaction.on_commit(lambda: publish_alarm(Alarm.objects.get(pk=alarm_id)), robust=True)
    return True


def alarm_acknowledge(*, alarm_id: int, user: AbstractBaseUser, note: str = "") -> Alarm:
    """Active → acknowledged, by `user`; refused (AlarmStateError) when it is not active any more."""
    now = timezone.now()
    with transaction.atomic():
        done = Alarm.objects.filter(pk=alarm_id, state=AlarmState.ACTIVE).update(
            state=AlarmState.ACKNOWLEDGED, acknowledged_by=user, acknowledged_at=now
        )
        if not done:
            state = Alarm.objects.filter(pk=alarm_id).values_list("state", flat=True).first()
            raise AlarmStateError(f"Alarm #{alarm_id} is {state}: only an active alarm can be acknowledged.")
        AlarmEvent.objects.create(alarm_id=alarm_id, at=now, action=AlarmAction.ACKNOWLEDGED, actor=user, note=note)
        alarm = Alarm.objects.select_related("rule").get(pk=alarm_id)
        audit_record(action="alarm.acknowledge", target=alarm, actor=user, after={"state": alarm.state, "note": note})
        transaction.on_commit(lambda: publish_alarm(alarm), robust=True)
    return alarm


def alarm_clear(*, alarm_id: int, user: AbstractBaseUser, note: str = "") -> Alarm:
    """Active or acknowledged → cleared, by `user`; refused (AlarmStateError) when it is already cleared. A condition
    that still holds raises a new alarm at the next evaluation (as vCenter's "reset to green")."""
    if not _alarm_close(alarm_id=alarm_id, action=AlarmAction.CLEARED, actor=user, now=timezone.now(), note=note):
        raise AlarmStateError(f"Alarm #{alarm_id} is already cleared.")
    alarm = Alarm.objects.select_related("rule").get(pk=alarm_id)
    audit_record(action="alarm.clear", target=alarm, actor=user, after={"state": alarm.state, "note": note})
    return alarm


# -- deliveries --------------------------------------------------------------------------------------------------


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> str:
    """One attempt of a delivery, if it is unsent and due: claims the attempt number (a conditional update, so a
    duplicate task does nothing), sends, records the attempt, and either marks it delivered, schedules the next
    attempt after backoff_s x 2^(attempts - 1) (enqueued on commit), or marks it failed after its last attempt.
    Returns the delivery's status afterwards ("skipped" when there was nothing to do)."""
    now = now or timezone.now()
    row = Delivery.objects.filter(pk=delivery_id).values("attempts", "status").first()
    if row is None or row["status"] not in UNSENT_STATUSES:
        return "skipped"
    number = row["attempts"] + 1
    claimed = (
        Delivery.objects.filter(pk=delivery_id, attempts=row["attempts"], status__in=UNSENT_STATUSES)
        .filter(Q(next_retry_at__isnull=True) | Q(next_retry_at__lte=now + timedelta(seconds=0.05)))
        .update(attempts=F("attempts") + 1)
    )
    if not claimed:
        return "skipped"
    delivery = Delivery.objects.select_related("endpoint", "alarm__rule").get(pk=delivery_id)
    if delivery.channel == Channel.WEBHOOK:
        endpoint = delivery.endpoint
        outcome = notify.post_webhook(
            url=endpoint.url,
            secret=endpoint.secret,
            payload={**delivery.payload, "delivery": {"id": delivery.pk, "attempt": number}},
            event=delivery.payload.get("event", "alarm.raised"),
            timeout_s=endpoint.timeout_s,
        )
    else:
        alarm = delivery.alarm
        outcome = notify.send_email(
            recipients=[r.strip() for r in delivery.recipients.split(",") if r.strip()],
            subject=f"[HybridCloud {alarm.get_severity_display()}] {alarm.rule.name}: {alarm.object_name}",
            text=f"{alarm.message}\n\nRule: {alarm.rule.condition}\nSeen first: {alarm.first_seen:%Y-%m-%d %H:%M:%S} "
            f"UTC\n{delivery.payload['alarm']['url']}\n",
        )
    finished = timezone.now()
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=number,
            at=finished,
            response_code=outcome.response_code,
            error=outcome.error[:2000],
            duration_ms=outcome.duration_ms,
            ok=outcome.ok,
        )
        fields: dict = {"response_code": outcome.response_code, "last_error": outcome.error[:2000]}
        if outcome.ok:
            fields |= {"status": DeliveryStatus.DELIVERED, "delivered_at": finished, "next_retry_at": None}
        elif number >= delivery.max_attempts:
            fields |= {"status": DeliveryStatus.FAILED, "next_retry_at": None}
        else:
            wait = delivery.backoff_s * 2 ** (number - 1)
            fields |= {"status": DeliveryStatus.RETRYING, "next_retry_at": finished + timedelta(seconds=wait)}
            transaction.on_commit(lambda: _enqueue([delivery_id], countdown=wait))
        Delivery.objects.filter(pk=delivery_id, attempts=number).update(**fields)
    return fields.get("status", DeliveryStatus.RETRYING)


def deliveries_resume_due(*, now: datetime | None = None, grace_s: float = 60.0) -> int:
    """Re-enqueues unsent deliveries whose next attempt is overdue by `grace_s` (their task was lost with a
    worker); the attempt's claim keeps a late duplicate from sending twice."""
    now = now or timezone.now()
    ids = list(
        Delivery.objects.filter(status__in=UNSENT_STATUSES, next_retry_at__lte=now - timedelta(seconds=grace_s))
        .order_by("next_retry_at")
        .values_list("pk", flat=True)[:500]
    )
    _enqueue(ids)
    return len(ids)


# -- rules and endpoints (admins) --------------------------------------------------------------------------------


def alarm_rule_save(*, rule: AlarmRule, webhooks=None, user: AbstractBaseUser) -> AlarmRule:
    """Creates or changes a rule (after full_clean), sets its webhooks, and audits the change."""
    before = None
    if rule.pk:
        before = AlarmRule.objects.filter(pk=rule.pk).values().first()
    rule.full_clean()
    with transaction.atomic():
        rule.save()
        if webhooks is not None:
            rule.webhooks.set(webhooks)
        audit_record(
            action="alarm_rule.change" if before else "alarm_rule.create",
            target=rule,
            actor=user,
            before=before,
            after=AlarmRule.objects.filter(pk=rule.pk).values().first(),
        )
    return rule


def alarm_rule_delete(*, rule: AlarmRule, user: AbstractBaseUser) -> None:
    """Deletes a rule and its alarms, and audits it."""
    with transaction.atomic():
        audit_record(
            action="alarm_rule.delete",
            target=rule,
            actor=user,
            before=AlarmRule.objects.filter(pk=rule.pk).values().first(),
        )
        rule.delete()


def webhook_endpoint_save(*, endpoint, user: AbstractBaseUser):
    """Creates or changes a webhook endpoint (after full_clean) and audits it (without its secret)."""
    endpoint.full_clean()
    created = endpoint.pk is None
    with transaction.atomic():
        endpoint.save()
        audit_record(
            action="webhook_endpoint.create" if created else "webhook_endpoint.change",
            target=endpoint,
            actor=user,
            after={"name": endpoint.name, "url": endpoint.url, "enabled": endpoint.enabled},
        )
    return endpoint
