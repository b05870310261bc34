"""Alarms: the rules an admin sets, the alarms they raise, and how each alarm is sent (e-mail, signed webhooks)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, validate_email
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from migration.alarms.choices import (
    OPEN_STATES,
    THRESHOLD_KINDS,
    AlarmAction,
    AlarmState,
    Channel,
    DeliveryStatus,
    RuleKind,
    Severity,
)


def new_secret() -> str:
    return secrets.token_hex(32)


class WebhookEndpoint(models.Model):
    """A URL that receives every alarm of the rules that name it, as JSON signed with its secret.

    Rules: the signature is `X-HybridCloud-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` with the
    `X-HybridCloud-Timestamp` header (Unix seconds), so a receiver can refuse a replayed request; a failed delivery
    (no answer, or a status outside 2xx) is tried again after `retry_backoff_s` x 2^(attempt - 1) seconds, at most
    `max_attempts` times in all."""

    name = models.CharField(max_length=100, unique=True)
    url = models.URLField(max_length=500, help_text="http or https; receives a POST per alarm.")
    secret = models.CharField(
        max_length=128, default=new_secret, help_text="Shared with the receiver, which checks the signature with it."
    )
    enabled = models.BooleanField(default=True)
    retry_backoff_s = models.FloatField(
        default=30.0,
        validators=[MinValueValidator(0.1), MaxValueValidator(3600)],
        help_text="Wait before the first retry; doubled before each next one.",
    )
    max_attempts = models.PositiveSmallIntegerField(
        default=5,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
        help_text="Attempts in all, the first one included.",
    )
    timeout_s = models.FloatField(default=5.0, validators=[MinValueValidator(0.5), MaxValueValidator(30)])
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # Only web URLs: a file:// or ftp:// target would make the worker read or write where it should not.
        if self.url and not self.url.lower().startswith(("http://", "https://")):
            raise ValidationError({"url": "A webhook URL starts with http:// or https://."})


class AlarmRule(models.Model):
    """What raises an alarm: a kind, its threshold, how long it must hold, a severity and who is told.

    Rules: threshold kinds (CPU, memory, link loss and utilisation, RTO trend, container host limits) need a
    threshold in percent; CPU and memory need it to hold for `duration_minutes`; the RTO trend compares the first
    and the last of the plan's latest `drills_count` drills (at least 2). Event kinds (failed migration, missed
    RTO, violated RPO) raise one alarm per event that ends after the rule was created, and never clear by
    themselves; the others clear by themselves when their condition ends."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=32, choices=RuleKind.choices)
    threshold = models.FloatField(
        null=True, blank=True, validators=[MinValueValidator(0), MaxValueValidator(1000)], help_text="Percent."
    )
    duration_minutes = models.PositiveIntegerField(
        default=0, validators=[MaxValueValidator(24 * 60)], help_text="CPU and memory: how long it must hold."
    )
    drills_count = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(2), MaxValueValidator(50)],
        help_text="RTO trend: over how many drills.",
    )
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.WARNING)
    enabled = models.BooleanField(default=True)
    email_to = models.TextField(
        blank=True, help_text="E-mail addresses told of every new alarm, separated by commas or spaces."
    )
    webhooks = models.ManyToManyField(WebhookEndpoint, blank=True, related_name="rules")
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("alarms:rule_edit", args=[self.pk])

    @property
    def severity_colour(self) -> str:
        return Severity(self.severity).colour

    @property
    def email_recipients(self) -> list[str]:
        return [part for part in self.email_to.replace(",", " ").replace(";", " ").split() if part]

    @property
    def condition(self) -> str:
        """The rule in words, e.g. "Host CPU over 85 % for 10 min"."""
        kind = RuleKind(self.kind)
        t = f"{self.threshold:g} %" if self.threshold is not None else "?"
        return {
            RuleKind.HOST_CPU: f"Host CPU over {t} for {self.duration_minutes} min",
            RuleKind.HOST_MEMORY: f"Host memory over {t} for {self.duration_minutes} min",
            RuleKind.LINK_LOSS: f"Link packet loss over {t}",
            RuleKind.LINK_UTILISATION: f"Link migration traffic over {t} of its bandwidth",
            RuleKind.MIGRATION_FAILED: "A migration failed",
            RuleKind.DRILL_RTO_MISSED: "A drill missed its target RTO",
            RuleKind.RTO_TREND: f"RTO up by more than {t} over the last {self.drills_count} drills",
            RuleKind.RPO_VIOLATED: "A drill found a replica older than its RPO",
            RuleKind.CONTAINER_HOST_LIMITS: f"Container host using over {t} of its CPU or memory limit",
        }[kind]

    def clean(self) -> None:
        errors: dict[str, str] = {}
        # Threshold kinds compare a percentage with the threshold: without one the rule would mean nothing.
        if self.kind in THRESHOLD_KINDS and self.threshold is None:
            errors["threshold"] = (
                f"A rule of kind “{RuleKind(self.kind).label}” needs a threshold ({THRESHOLD_KINDS[self.kind]})."
            )
        # Percentages of capacity, loss and utilisation stop at 100 (a trend or a container limit may exceed it).
        if (
            self.kind in (RuleKind.HOST_CPU, RuleKind.HOST_MEMORY, RuleKind.LINK_LOSS, RuleKind.LINK_UTILISATION)
            and self.threshold is not None
            and self.threshold > 100
        ):
            errors["threshold"] = f"A threshold of {self.threshold:g} % is over 100 %: it could never be crossed."
        # Every address must be one, or the e-mail would be refused at sending time.
        bad = []
        for address in self.email_recipients:
            try:
                validate_email(address)
            except ValidationError:
                bad.append(address)
        if bad:
            errors["email_to"] = "Not an e-mail address: " + ", ".join(bad) + "."
        if errors:
            raise ValidationError(errors)


class Alarm(models.Model):
    """One alarm: a rule's condition seen on one object (a host, a link, a migration, a drill, a plan, ...).

    Rules: `key` names the rule and the object (`<rule>:<object type>:<id>`); at most one open (active or
    acknowledged) alarm per key (a partial unique constraint) and one alarm per key and `episode` (event kinds
    always use episode 0, so a failed migration raises one alarm ever), so evaluating twice at the same instant,
    or two evaluations racing, raise nothing twice. States move active → acknowledged → cleared (or active →
    cleared) by conditional updates; every change is a line of its history (`AlarmEvent`)."""

    rule = models.ForeignKey(AlarmRule, on_delete=models.CASCADE, related_name="alarms")
    key = models.CharField(max_length=120)
    episode = models.PositiveIntegerField(default=0)
    object_type = models.CharField(max_length=32, help_text="host, link, migration, drill, plan, container host")
    object_id = models.PositiveIntegerField()
    object_name = models.CharField(max_length=200)
    object_url = models.CharField(max_length=300, blank=True)
    severity = models.CharField(max_length=16, choices=Severity.choices)
    state = models.CharField(max_length=16, choices=AlarmState.choices, default=AlarmState.ACTIVE, db_index=True)
    message = models.TextField()
    value = models.FloatField(null=True, blank=True, help_text="The measured value when last seen (percent).")
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    cleared_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-first_seen", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"],
                condition=Q(state__in=OPEN_STATES),
                name="alarm_one_open_per_key",
                violation_error_message="This rule already has an open alarm for this object.",
            ),
            models.UniqueConstraint(
                fields=["key", "episode"],
                name="alarm_one_per_key_episode",
                violation_error_message="This alarm was already raised.",
            ),
        ]

    def __str__(self) -> str:
        return f"Alarm #{self.pk}: {self.message}"

    def get_absolute_url(self) -> str:
        return reverse("alarms:detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    @property
    def severity_colour(self) -> str:
        return Severity(self.severity).colour

    @property
    def state_colour(self) -> str:
        return AlarmState(self.state).colour


class AlarmEvent(models.Model):
    """A line of an alarm's history: raised, acknowledged, cleared (by a person) or resolved (its condition ended)."""

    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=16, choices=AlarmAction.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["alarm", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.alarm_id} {self.action} at {self.at:%Y-%m-%d %H:%M:%S}"


class Delivery(models.Model):
    """One notification of one alarm on one channel (an e-mail to the rule's addresses, or a webhook endpoint).

    Rules: each attempt claims its number by a conditional update (`attempts` n → n+1 while unsent and due), so a
    redelivered task sends nothing twice; a failure schedules the next attempt with exponential backoff until
    the endpoint's `max_attempts`, then the delivery is failed. Every attempt is a `DeliveryAttempt` row."""

    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    recipients = models.TextField(blank=True, help_text="E-mail: the addresses it goes to.")
    payload = models.JSONField(default=dict)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    backoff_s = models.FloatField(default=30.0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Of the last attempt.")
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_retry_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["alarm", "endpoint"],
                condition=Q(channel="webhook"),
                name="delivery_one_per_alarm_endpoint",
                violation_error_message="This alarm was already sent to this endpoint.",
            ),
            models.UniqueConstraint(
                fields=["alarm"],
                condition=Q(channel="email"),
                name="delivery_one_email_per_alarm",
                violation_error_message="This alarm was already e-mailed.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} of alarm {self.alarm_id} → {self.target}"

    @property
    def target(self) -> str:
        return self.endpoint.name if self.endpoint_id else self.recipients

    @property
    def status_colour(self) -> str:
        return DeliveryStatus(self.status).colour


class DeliveryAttempt(models.Model):
    """One try of a delivery: when, the HTTP status (webhooks) or the error, and how long it took."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    at = models.DateTimeField(default=timezone.now)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.FloatField(default=0)
    ok = models.BooleanField(default=False)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery", "number"],
                name="deliveryattempt_one_per_number",
                violation_error_message="This attempt is already recorded.",
            )
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"
