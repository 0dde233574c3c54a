"""Benchmark: events reported over HTTP to ``seatwise serve``, on SQLite and PostgreSQL.

    python bench/ingest.py [--databases sqlite,postgresql] [--workers 1,2] [--clients 8,32]
                           [--seconds 10] [--out FILE]

For each database, count of server workers and count of clients: a fresh store with 200
accounts on a
``seats-monthly`` plan, and ``seatwise serve --workers N`` started as a process on 127.0.0.1.
Then, each phase for ``--seconds`` with ``--clients`` concurrent clients (threads, keep-alive
connections):

* **ceiling** — ``GET /livez``, which touches no database: what the server answers at most on
  this machine, in the same run, so the other figures can be read as ratios of it;
* **single** — ``POST /v1/accounts/{id}/events``, one activation per request, each with its own
  id (a product reporting events as they happen);
* **batch** — ``POST /v1/events`` with 1,000 activations each, over 10 accounts (100 each).

It reports requests/s, events/s, p50 and p99 latency, the ratio of single-event requests
to the ceiling, and the plain loop of ``bench/core_scaling.py`` timed before and after each
setting (``machine_speed``): this machine's speed moves by up to 2× within minutes, and
batch events/s × those seconds compares runs made while it moved. The client runs on the same
machine as the server and shares its cores, in every phase alike. This is a measurement, not a
test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from arguments import counts, databases, out_file, positive
from machine_speed import plain_loop_seconds
from report import print_and_write
from sqlalchemy import text

from seatwise.engine.access import create_key
from seatwise.engine.accounts import AccountSpec, NewMember, create_account
from seatwise.engine.clock import SystemClock
from seatwise.engine.plans import create_plan
from seatwise.store.database import make_engine, migrate

ACCOUNTS = 200
BATCH = 1000
BATCH_ACCOUNTS = 10


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare(url: str, accounts: int = ACCOUNTS) -> str:
    """A migrated store with ``accounts`` accounts; returns an admin key."""
    migrate(url)
    engine = make_engine(url)
    clock = SystemClock()
    create_plan(
        engine, {"preset": "seats-monthly", "currency": "USD", "price": "10.00"}, clock, "bench"
    )
    for index in range(accounts):
        spec = AccountSpec(
            id=f"a{index:03d}",
            plan_id="bench",
            subscribed_at=datetime(2026, 1, 1, tzinfo=UTC),
            payment_method="succeeds",
            members=tuple(NewMember(f"m{n}") for n in range(5)),
        )
        create_account(engine, spec, clock)
    key = create_key(engine, "bench", "admin", clock).secret
    if engine.dialect.name == "postgresql":  # the statistics autovacuum would have gathered
        with engine.begin() as connection:  # (this machine's PostgreSQL runs without it)
            connection.execute(text("ANALYZE"))
    engine.dispose()
    return key


class Server:
    """``seatwise serve`` in a process of its own."""

    def __init__(self, url: str, workers: int) -> None:
        self.port = free_port()
        env = {**os.environ, "SEATWISE_DATABASE_URL": url}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "seatwise.cli",
                "serve",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                connection.request("GET", "/livez")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("seatwise serve did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


Request = Callable[[int, int], tuple[str, str, bytes | None, int]]  # → method, path, body, events


def phase(port: int, key: str, clients: int, seconds: float, make: Request) -> dict[str, Any]:
    """Run ``clients`` threads for ``seconds``, each sending the requests ``make`` gives."""
    latencies: list[float] = []
    events = errors = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    counter = itertools.count()

    def client(number: int) -> None:
        nonlocal events, errors
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        mine: list[float] = []
        sent = failed = 0
        while time.monotonic() < stop:
            method, path, body, count = make(number, next(counter))
            began = time.perf_counter()
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - began)
            if response.status >= 300:
                failed += 1
            else:
                sent += count
        connection.close()
        with lock:
            latencies.extend(mine)
            events += sent
            errors += failed

    began = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "errors": errors,
        "seconds": round(elapsed, 2),
        "requests_per_second": round(len(ordered) / elapsed, 1),
        "events_per_second": round(events / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 2) if ordered else None,
        "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 2) if ordered else None,
    }


def run(url: str, clients: int, seconds: float, workers: int) -> dict[str, Any]:
    key = prepare(url)
    loop_before = plain_loop_seconds()
    server = Server(url, workers)
    run_id = int(time.time())
    try:
        ceiling = phase(
            server.port, key, clients, seconds, lambda _c, _n: ("GET", "/livez", None, 0)
        )

        def single(client: int, n: int) -> tuple[str, str, bytes | None, int]:
            account = f"a{n % ACCOUNTS:03d}"
            body = {
                "id": f"s{run_id}-{client}-{n}",
                "action": "activate",
                "member": f"s{client}-{n}",
            }
            return "POST", f"/v1/accounts/{account}/events", json.dumps(body).encode(), 1

        one = phase(server.port, key, clients, seconds, single)

        def batch(client: int, n: int) -> tuple[str, str, bytes | None, int]:
            events = [
                {
                    "id": f"b{run_id}-{client}-{n}-{i}",
                    "account": f"a{(n * BATCH_ACCOUNTS + i % BATCH_ACCOUNTS) % ACCOUNTS:03d}",
                    "action": "activate",
                    "member": f"b{client}-{n}-{i}",
                }
                for i in range(BATCH)
            ]
            return "POST", "/v1/events", json.dumps({"events": events}).encode(), BATCH

        many = phase(server.port, key, clients, seconds, batch)
    finally:
        server.stop()
    loop_after = plain_loop_seconds()
    return {
        "database": url.split(":", 1)[0],
        "workers": workers,
        "clients": clients,
        "ceiling": ceiling,
        "single": one,
        "batch": many,
        "single_to_ceiling": round(one["requests_per_second"] / ceiling["requests_per_second"], 3),
        # the machine's speed before and after (machine_speed): batch events/s × their mean
        # compares runs made while it moved
        "plain_loop_seconds": [round(loop_before, 5), round(loop_after, 5)],
        "batch_events_per_plain_loop": round(
            many["events_per_second"] * (loop_before + loop_after) / 2, 1
        ),
    }


def fresh_postgresql(url: str) -> str:
    base, _, name = url.rpartition("/")
    admin = make_engine(f"{base}/postgres").execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", type=databases, default="sqlite,postgresql")
    parser.add_argument(
        "--postgresql-url", default="postgresql://postgres@127.0.0.1:5432/seatwise_ingest"
    )
    parser.add_argument("--seconds", type=positive, default=10)
    parser.add_argument(
        "--clients",
        type=counts,
        default="8,32",
        help="counts of concurrent clients to measure, e.g. 8,32",
    )
    parser.add_argument(
        "--workers", type=counts, default="1,2", help="server worker counts to measure, e.g. 1,2"
    )
    parser.add_argument("--out", type=out_file, help="also write the JSON here")
    args = parser.parse_args()
    results = []
    for name in args.databases:
        for workers in args.workers:
            for clients in args.clients:
                where = f"{name}: {workers} worker(s), {clients} clients"
                print(f"ingesting on {where}", file=sys.stderr)
                if name == "sqlite":  # its file removed after the setting's run
                    with tempfile.TemporaryDirectory(prefix="seatwise-ingest-") as folder:
                        url = f"sqlite:///{folder}/ingest.db"
                        results.append(run(url, clients, args.seconds, workers))
                else:
                    url = fresh_postgresql(args.postgresql_url)
                    results.append(run(url, clients, args.seconds, workers))
    print_and_write(
        "ingest",
        args.out,
        cpus=os.cpu_count(),
        results=results,
    )


if __name__ == "__main__":
    main()
