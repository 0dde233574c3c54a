"""What the browser tests share: `seatwise serve` in a real process on a free port of
127.0.0.1, and Debian's Chromium driven by Playwright (its own browser download cannot work
here)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("SEATWISE_SCREENSHOTS", "build/screenshots"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def seatwise(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "seatwise.cli", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


@contextmanager
def serving(
    database_url: str, env: dict[str, str], log: Path, port: int | None = None
) -> Iterator[str]:
    """`seatwise serve` over ``database_url``; yields its base URL once it answers."""
    port = port or free_port()
    base = f"http://127.0.0.1:{port}"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "seatwise.cli", "serve", "--port", str(port)],
            env={
                **os.environ,
                **env,
                "SEATWISE_DATABASE_URL": database_url,
                "SEATWISE_PUBLIC_URL": base,
            },
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, "seatwise serve did not answer in 30 s"
                time.sleep(0.2)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=10)
