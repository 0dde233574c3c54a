"""The health routes: ``/livez`` answers from the event loop, so a liveness probe is answered
while slow requests hold every worker thread; ``/healthz`` also asks the database."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import anyio.to_thread
import httpx
from fastapi.responses import JSONResponse

from seatwise.api.app import create_app
from seatwise.store.database import make_engine, migrate


def test_livez_answers_while_every_worker_thread_is_held(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/health.db"
    migrate(url)
    app = create_app(make_engine(url))
    release = threading.Event()

    @app.get("/slow")
    def slow() -> JSONResponse:  # a sync route: it holds a worker thread while it runs
        release.wait(10)
        return JSONResponse({"slow": True})

    async def probe() -> tuple[int, int, int]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 1  # one thread
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            held = asyncio.create_task(client.get("/slow"))
            await asyncio.sleep(0.2)  # the only thread is held from here on
            live = await asyncio.wait_for(client.get("/livez"), 5)
            health = asyncio.create_task(client.get("/healthz"))  # waits for a thread
            await asyncio.sleep(0.2)
            waiting = health.done()
            release.set()
            return live.status_code, (await held).status_code, int(waiting)

    live, held, healthz_done_while_held = asyncio.run(probe())
    assert live == 200
    assert held == 200
    assert healthz_done_while_held == 0  # /healthz, which asks the database, waits its turn
