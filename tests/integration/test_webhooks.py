"""Webhooks delivered to a real HTTP receiver on 127.0.0.1, verified with the Standard Webhooks
library, retried with backoff after failures, every attempt logged."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from seatwise.collect.webhooks import Delivery, Endpoint, WebhookEvent, deliver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
T0 = datetime(2025, 2, 8, 10, 0, tzinfo=UTC)


class Receiver(ThreadingHTTPServer):
    def __init__(self, failures: int) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.failures = failures
        self.received: list[tuple[dict[str, str], bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks"


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.server.received.append((dict(self.headers.items()), body))
        if self.server.failures > 0:
            self.server.failures -= 1
            self.send_response(503)
        else:
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    server = Receiver(getattr(request, "param", 0))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def wait_until(self, instant: datetime) -> None:
        self.now = instant


EVENT = WebhookEvent(
    "evt_000001", "invoice.issued", T0, {"invoice": "INV-000001", "total": "24.00"}
)


def test_a_signed_event_arrives_and_verifies(receiver: Receiver) -> None:
    clock = Clock(datetime.now(UTC))  # signed now: receivers refuse stale timestamps
    done = deliver(Delivery(EVENT, Endpoint(receiver.url, SECRET)), clock, clock.wait_until)
    assert done.delivered and [a.status for a in done.attempts] == [204]
    [(headers, body)] = receiver.received
    lowered = {key.lower(): value for key, value in headers.items()}
    assert lowered["webhook-id"] == "evt_000001"
    payload = Webhook(SECRET).verify(body, lowered)  # as any Standard Webhooks receiver does
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body.replace(b"24.00", b"0.01"), lowered)  # tampered
    assert payload == {
        "type": "invoice.issued",
        "timestamp": "2025-02-08T10:00:00Z",
        "data": {"invoice": "INV-000001", "total": "24.00"},
    }


@pytest.mark.parametrize("receiver", [2], indirect=True)
def test_failures_are_retried_with_backoff_and_logged(receiver: Receiver) -> None:
    clock = Clock()
    done = deliver(Delivery(EVENT, Endpoint(receiver.url, SECRET)), clock, clock.wait_until)
    assert [(a.at, a.status, a.error) for a in done.attempts] == [
        (T0, 503, "HTTP 503"),
        (T0 + timedelta(seconds=5), 503, "HTTP 503"),
        (T0 + timedelta(seconds=5, minutes=5), 204, ""),
    ]
    assert len(receiver.received) == 3
    ids = {
        dict(h)["webhook-id"] if "webhook-id" in dict(h) else dict(h)["Webhook-Id"]
        for h, _ in receiver.received
    }
    assert ids == {"evt_000001"}  # the same id each time: receivers drop duplicates


def test_an_unreachable_endpoint_is_given_up_after_the_last_retry() -> None:
    clock = Clock()
    endpoint = Endpoint("http://127.0.0.1:9/nothing-listens-here", SECRET)
    done = deliver(Delivery(EVENT, endpoint), clock, clock.wait_until)
    assert not done.delivered
    assert len(done.attempts) == 7 and all(a.status is None for a in done.attempts)
    assert done.attempts[-1].at == T0 + timedelta(seconds=5, minutes=35, hours=17)
    assert done.next_attempt_at() is None
