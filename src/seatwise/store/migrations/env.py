"""Alembic environment: runs the package's migrations on the configured URL."""

from __future__ import annotations

from alembic import context

from seatwise.store.database import make_engine
from seatwise.store.tables import metadata

url = context.config.get_main_option("sqlalchemy.url")
engine = make_engine(url)
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
