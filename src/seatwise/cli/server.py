"""``seatwise serve`` (the REST API) and ``seatwise keys`` (its secret keys)."""

from __future__ import annotations

import os

import click

from seatwise.cli.app import main
from seatwise.cli.common import DATABASE_OPTION, echo_json, store
from seatwise.core.periods import iso
from seatwise.engine.clock import SystemClock


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Processes serving requests.",
)
@DATABASE_OPTION
def serve(host: str, port: int, workers: int, database_url: str | None) -> None:
    """Serve the REST API (OpenAPI at /v1/openapi.json, documentation at /docs) and the
    billing page (/billing, reached by the links of `seatwise billing-link` and the API's
    account sessions)."""
    import uvicorn

    from seatwise.branding import Branding

    store(database_url).dispose()  # a missing or unmigrated database is said now, once
    Branding.from_environment()  # and a branding that cannot work
    if database_url:
        os.environ["SEATWISE_DATABASE_URL"] = database_url
    click.echo(
        f"Seatwise API on http://{host}:{port} (documentation: /docs; billing page: /billing)",
        err=True,
    )
    uvicorn.run(
        "seatwise.api.server:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        timeout_keep_alive=5,
        limit_concurrency=1000,
        log_level="info",
        log_config=LOG_CONFIG,
    )


# uvicorn's own configuration, but every line to stderr (its access log goes to stdout by
# default, where it would mix with what a shell prints)
LOG_CONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "default": {"()": "uvicorn.logging.DefaultFormatter", "fmt": "%(levelprefix)s %(message)s"},
        "access": {
            "()": "uvicorn.logging.AccessFormatter",
            "fmt": '%(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s',
        },
    },
    "handlers": {
        "default": {
            "formatter": "default",
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
        },
        "access": {
            "formatter": "access",
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
        },
    },
    "loggers": {
        "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
        "uvicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        "seatwise": {"handlers": ["default"], "level": "INFO", "propagate": False},
    },
}


@main.group()
def keys() -> None:
    """The API's secret keys: create one (shown once), list them, revoke one."""


@keys.command("create")
@click.option("--name", required=True, help="What the key is for.")
@click.option(
    "--scope", type=click.Choice(["read", "write", "admin"]), default="write", show_default=True
)
@DATABASE_OPTION
def keys_create(name: str, scope: str, database_url: str | None) -> None:
    """Create a key; its secret is printed this once (only its hash is stored)."""
    from seatwise.engine.access import create_key

    made = create_key(store(database_url), name, scope, SystemClock())
    click.echo(made.secret)
    click.echo(f"key {made.key.id} ({made.key.name}, {made.key.scope}): keep it secret", err=True)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@DATABASE_OPTION
def keys_list(as_json: bool, database_url: str | None) -> None:
    """The keys: id, name, scope, the start of the secret, revoked or not."""
    from seatwise.engine.access import list_keys

    found = list_keys(store(database_url))
    data = [
        {
            "id": key.id,
            "name": key.name,
            "scope": key.scope,
            "starts": key.prefix,
            "created_at": iso(key.created_at),
            "revoked_at": None if key.revoked_at is None else iso(key.revoked_at),
        }
        for key in found
    ]
    if as_json:
        echo_json(data)
        return
    if not data:
        click.echo("(no keys: `seatwise keys create --name NAME`)")
    for item in data:
        revoked = f"  revoked {item['revoked_at']}" if item["revoked_at"] else ""
        click.echo(f"{item['id']}  {item['starts']}…  {item['scope']:<5}  {item['name']}{revoked}")


@keys.command("revoke")
@click.argument("key_id", type=int)
@DATABASE_OPTION
def keys_revoke(key_id: int, database_url: str | None) -> None:
    """Revoke key KEY_ID: it is refused from now on."""
    from seatwise.engine.access import revoke_key

    revoke_key(store(database_url), key_id, SystemClock())
    click.echo(f"key {key_id} revoked")
