"""Alembic environment: runs the package's migrations on the configured URL, or on the open
connection passed as ``config.attributes["connection"]`` (an in-memory database)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from seatwise.store.database import make_engine
from seatwise.store.tables import metadata


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if given is not None:
    run(given)
else:
    engine = make_engine(context.config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        run(connection)
    engine.dispose()
