"""Benchmark: what the server does for a single event, against a ``GET /livez``, in instructions.

    python bench/event_instructions.py [--databases sqlite,postgresql] [--groups 100]
                                       [--against REV] [--jobs 2] [--out FILE]

``ingest.py`` times single events over HTTP against the server's ceiling; on this machine its
figures move by a third from one run to the next, more than most changes to the route. This
counts, with valgrind's callgrind, the instructions of the server's own process in place of
time: a child makes ``ingest.py``'s store (of 16 accounts), the API's app and its event groups,
then sends requests to the app in-process, eight at once as ``ingest.py``'s 8 clients do,
``--groups`` times — ``POST /v1/accounts/{id}/events`` (one activation with its id, recorded
by the real event groups into the real database) or ``GET /livez``; another child does the
same with no group. The difference ÷ the requests is one request's instructions, the start,
the store's making and a warm-up subtracted (hash seed fixed). Left out: uvicorn's reading
and writing of HTTP (the same for both routes) and, on PostgreSQL, the database server's work
(another process), and a key's lookups after the first (a server remembers a key for a
second, which under callgrind passes every few dozen requests; serving, about one in a
thousand). ``livez_to_event`` is what single ÷ ceiling would be if the server's
instructions were all that limited it. With ``--against``, the same for another revision's
tree (a git worktree, as ``billing_instructions.py`` makes). Needs valgrind. On SQLite a
``/livez``'s count is the same from run to run to a few instructions (549,237 and 549,224),
a single event's within about 2% (1,099,593 and 1,081,471, cause not found); on PostgreSQL
they move by some 5% (``/livez`` 535,167 and 560,888): psycopg polls its socket
while it waits for the server, as many times as the server takes, in the store's making as
in the requests, so more ``--groups`` weigh it less.

This is a measurement, not a test: nothing here asserts a count.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import MutableMapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from arguments import databases, positive
from billing_instructions import BENCH, against_commit, remove, trees_to_count
from callgrind import CALLGRIND, HASH_SEED, collected, counting_parser, require_valgrind
from report import print_and_write

AT_ONCE = 8  # requests sent together, as ingest.py's 8 clients
ACCOUNTS = 16  # the requests sent together name as many accounts
WARM = 20  # groups sent before those counted: the key remembered, statements prepared
ROUTES = ("event", "livez")


def child(route: str, url: str, groups: int) -> None:
    """What a child does: the store at ``url`` (a PostgreSQL database is made, then dropped),
    the app, a warm-up, then ``groups`` groups of requests to ``route``."""
    import ingest
    from sqlalchemy import text

    from seatwise.api.app import create_app
    from seatwise.engine import access
    from seatwise.store.database import make_engine

    # A server remembers a valid key for a second (KEY_MEMORY_SECONDS): serving a thousand
    # requests a second, it looks the key up for about one in a thousand. Under callgrind,
    # fifty times slower, a second passes every few dozen requests, and how many depends on
    # the machine's load: the key is remembered for the whole child instead.
    access.KEY_MEMORY_SECONDS = 24 * 3600

    if url.startswith("postgresql"):
        url = ingest.fresh_postgresql(url)
    key = ingest.prepare(url, ACCOUNTS)  # ingest.py's store, fewer accounts: made faster
    engine = make_engine(url)
    app = create_app(engine)
    sent = 0

    async def request(number: int) -> None:
        body = b""
        path = "/livez"
        headers = [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {key}".encode())]
        if route == "event":
            event = {"id": f"e{number}", "action": "activate", "member": f"m{number}x"}
            body = json.dumps(event).encode()
            path = f"/v1/accounts/a{number % ACCOUNTS:03d}/events"
            headers += [(b"content-type", b"application/json")]
            headers += [(b"content-length", str(len(body)).encode())]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST" if body else "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 2),
        }
        answered: list[int] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answered.append(message["status"])

        await app(scope, receive, send)
        if answered != [201 if body else 200]:
            raise SystemExit(f"event_instructions.py: {path} answered {answered}")

    async def send_groups() -> None:
        nonlocal sent
        for _ in range(WARM + groups):
            await asyncio.gather(*[request(sent + index) for index in range(AT_ONCE)])
            sent += AT_ONCE

    asyncio.run(send_groups())
    app.state.event_groups.close()
    engine.dispose()
    if url.startswith("postgresql"):
        base, _, name = url.rpartition("/")
        admin = make_engine(f"{base}/postgres").execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def count(source: Path, route: str, url: str, groups: int) -> int:
    """The instructions of a child on the tree ``source``."""
    command = [*CALLGRIND, sys.executable, __file__, "--child", route, url, str(groups)]
    environment = {**os.environ, **HASH_SEED, "PYTHONPATH": f"{source}{os.pathsep}{BENCH}"}
    finished = subprocess.run(command, capture_output=True, text=True, env=environment)
    found = collected(finished.stdout + finished.stderr)
    if finished.returncode != 0 or found is None:
        tail = "\n".join(finished.stderr.splitlines()[-5:])
        raise SystemExit(f"event_instructions.py: the child {route} on {source} failed:\n{tail}")
    return found


def measure(
    source: Path, name: str, store: str, groups: int, jobs: ThreadPoolExecutor
) -> dict[str, Any]:
    """Per request, each route's instructions on ``source`` over the database ``name``; each
    child's store is ``store`` with its own label for ``{label}``."""
    runs = [
        (route, store.format(label=f"{route}_{number}"), number)
        for route in ROUTES
        for number in (0, groups)
    ]
    found = list(jobs.map(lambda run: count(source, *run), runs))
    per = {
        route: round((found[2 * index + 1] - found[2 * index]) / (groups * AT_ONCE))
        for index, route in enumerate(ROUTES)
    }
    return {
        "database": name,
        "event_instructions": per["event"],
        "livez_instructions": per["livez"],
        "livez_to_event": round(per["livez"] / per["event"], 3),
    }


def main() -> None:
    parser = counting_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--databases", type=databases, default="sqlite,postgresql")
    parser.add_argument("--postgresql-url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--groups", type=positive, default=100)
    parser.add_argument("--against", help="a git revision to compare with")
    args = parser.parse_args()
    if args.child:
        route, url, groups = args.child
        child(route, url, int(groups))
        return
    against = against_commit(parser, args.against)
    require_valgrind(parser)
    folder = Path(tempfile.mkdtemp(prefix="seatwise-events-"))
    base = args.postgresql_url.rpartition("/")[0]
    stores = {  # each child's own store: a file, or a database made and dropped by the child
        "sqlite": f"sqlite:///{folder}/{{tree}}_{{label}}.db",
        "postgresql": f"{base}/seatwise_events_{{tree}}_{{label}}",
    }
    results = []
    try:
        with ThreadPoolExecutor(args.jobs) as jobs:
            for tree, (revision, source) in enumerate(trees_to_count(against, folder)):
                for name in args.databases:
                    store = stores[name].replace("{tree}", str(tree))
                    found = measure(source, name, store, args.groups, jobs)
                    results.append({"revision": revision, **found})
                    print(json.dumps(results[-1]), file=sys.stderr, flush=True)
    finally:
        remove(folder)
    print_and_write("event_instructions", args.out, groups=args.groups, results=results)


if __name__ == "__main__":
    main()
