"""Webhooks (SPEC 8): events signed per the Standard Webhooks specification, delivered over
HTTP with retries and backoff, every attempt logged.

An event is ``{"type": …, "timestamp": …, "data": {…}}`` with a unique id. Each request carries
``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` (HMAC-SHA256 by the
``standardwebhooks`` package with the endpoint's ``whsec_…`` secret), so a receiver verifies it
with any Standard Webhooks library and drops duplicates by id. A 2xx answer is a delivery;
anything else, or no answer, is retried after the delays of :data:`RETRY_DELAYS`.
The outbox (:mod:`seatwise.collect.outbox`) queues events in the transaction of their cause;
its worker calls :func:`attempt` once per due message and keeps the log in the database.
"""

from __future__ import annotations

import base64
import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from standardwebhooks.webhooks import Webhook

from seatwise.core.periods import iso

# Standard Webhooks' suggested schedule: at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h.
RETRY_DELAYS = (
    timedelta(0),
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
)


@dataclass(frozen=True)
class Endpoint:
    url: str
    secret: str  # whsec_ followed by base64


@dataclass(frozen=True)
class WebhookEvent:
    id: str  # unique: receivers drop a second delivery of the same id
    type: str  # invoice.issued, invoice.paid, payment.failed, credits.alert, …
    at: datetime
    data: Mapping[str, Any]

    def payload(self) -> str:
        return json.dumps(
            {"type": self.type, "timestamp": iso(self.at), "data": dict(self.data)},
            sort_keys=True,
            ensure_ascii=False,
        )


@dataclass(frozen=True)
class DeliveryAttempt:
    at: datetime
    status: int | None  # the HTTP status, None when there was no answer
    error: str = ""

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class Delivery:
    """The log of one event's delivery to one endpoint."""

    event: WebhookEvent
    endpoint: Endpoint
    attempts: list[DeliveryAttempt] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        return any(attempt.delivered for attempt in self.attempts)

    def next_attempt_at(self) -> datetime | None:
        """When to try again, or None once delivered or out of retries."""
        if self.delivered or len(self.attempts) >= len(RETRY_DELAYS):
            return None
        if not self.attempts:
            return self.event.at
        return self.attempts[-1].at + RETRY_DELAYS[len(self.attempts)]


def new_secret() -> str:
    """A new endpoint secret: ``whsec_`` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def signed_headers(endpoint: Endpoint, event: WebhookEvent, sent_at: datetime) -> dict[str, str]:
    payload = event.payload()
    signature = Webhook(endpoint.secret).sign(event.id, sent_at, payload)
    return {
        "content-type": "application/json",
        "webhook-id": event.id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
    }


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float = 10.0) -> int:
    """POST over HTTP; the status code (an HTTP error status is an answer, not an exception)."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def attempt(
    delivery: Delivery,
    now: datetime,
    send: Callable[[str, bytes, Mapping[str, str]], int] = post,
) -> DeliveryAttempt:
    """One attempt at ``now``, appended to the delivery's log."""
    headers = signed_headers(delivery.endpoint, delivery.event, now)
    try:
        status = send(delivery.endpoint.url, delivery.event.payload().encode(), headers)
        result = DeliveryAttempt(now, status, "" if 200 <= status < 300 else f"HTTP {status}")
    except Exception as error:  # no answer, or one that is not HTTP: a failed attempt
        words = str(error) or type(error).__name__
        result = DeliveryAttempt(now, None, f"{type(error).__name__}: {words}"[:500])
    delivery.attempts.append(result)
    return result


def deliver(
    delivery: Delivery,
    clock: Callable[[], datetime],
    wait_until: Callable[[datetime], None],
    send: Callable[[str, bytes, Mapping[str, str]], int] = post,
) -> Delivery:
    """Attempt until delivered or out of retries, waiting between attempts (``wait_until`` is
    injected: a worker sleeps, a test moves its clock)."""
    while (due := delivery.next_attempt_at()) is not None:
        if clock() < due:
            wait_until(due)
        attempt(delivery, max(clock(), due), send)
    return delivery
