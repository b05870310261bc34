"""How an alarm leaves the system: the webhook's signed POST and the e-mail. One attempt each, no retry here (the
delivery service decides about retries); both return an `AttemptOutcome` and never raise."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail

SIGNATURE_HEADER = "X-HybridCloud-Signature"
TIMESTAMP_HEADER = "X-HybridCloud-Timestamp"
EVENT_HEADER = "X-HybridCloud-Event"
USER_AGENT = "HybridCloud-Alarms/1"


@dataclass(frozen=True)
class AttemptOutcome:
    ok: bool
    response_code: int | None
    error: str
    duration_ms: float


def encode_body(payload: dict) -> bytes:
    """The exact bytes that are signed and sent (compact, keys sorted, UTF-8)."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256 over `<timestamp>.<body>` with the endpoint's secret: binding the timestamp
    lets a receiver refuse an old request replayed with its original signature."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(*, secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """What a receiver does (and the tests' receiver): constant-time comparison with the expected signature."""
    return hmac.compare_digest(signature(secret=secret, timestamp=timestamp, body=body), header or "")


def post_webhook(*, url: str, secret: str, payload: dict, event: str, timeout_s: float) -> AttemptOutcome:
    """One signed POST; any 2xx is a success, anything else (another status, no answer, a timeout) a failure."""
    body = encode_body(payload)
    timestamp = str(int(time.time()))
    request = urllib.request.Request(  # noqa: S310 - the endpoint's clean() allows only http(s) URLs
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            EVENT_HEADER: event,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(secret=secret, timestamp=timestamp, body=body),
        },
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            code = response.status
        error = "" if 200 <= code < 300 else f"HTTP {code}"
    except urllib.error.HTTPError as exc:
        code, error = exc.code, f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        code, error = None, f"No answer: {reason}"
    return AttemptOutcome(
        ok=code is not None and 200 <= code < 300,
        response_code=code,
        error=error,
        duration_ms=(time.monotonic() - started) * 1000,
    )


def send_email(*, recipients: list[str], subject: str, text: str) -> AttemptOutcome:
    """One e-mail through Django's e-mail backend (the console in development, SMTP in production)."""
    started = time.monotonic()
    try:
        send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=False)
        ok, error = True, ""
    except Exception as exc:  # noqa: BLE001 - any backend failure is a failed attempt, retried with backoff
        ok, error = False, f"{type(exc).__name__}: {exc}"
    return AttemptOutcome(ok=ok, response_code=None, error=error, duration_ms=(time.monotonic() - started) * 1000)
