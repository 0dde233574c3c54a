"""Writing many rows at once by each database's fastest path, inside the caller's transaction.

A billing run writes every invoice of an account, its lines and their first status in one
transaction. Through SQLAlchemy's statement machinery each such write costs more than the
database itself; here the rows go to the driver directly — ``executemany`` on SQLite, ``COPY``
on PostgreSQL — after the very conversions SQLAlchemy would apply (each column type's bind
processor, so :class:`~seatwise.store.types.UTCDateTime` stores exactly what it always does).
Row ids are reserved first (PostgreSQL's sequence; SQLite's write lock), so the rows can
reference each other without a round trip per row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

from seatwise.store.types import UTCDateTime

Processor = Callable[[Any], Any] | None
FEW = 20  # rows below which PostgreSQL takes an INSERT rather than a COPY


def reserve_ids(connection: Connection, table: Table, count: int) -> list[int]:
    """``count`` new values of ``table``'s integer primary key ``id``, for this transaction."""
    if count == 0:
        return []
    dialect = connection.dialect.name
    if dialect not in ("sqlite", "postgresql"):
        raise NotImplementedError(f"no id reservation for {dialect}")
    cursor = _cursor(connection)
    try:
        if dialect == "postgresql":
            cursor.execute(
                f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) "
                "FROM generate_series(1, %s)",
                (count,),
            )
            return [int(row[0]) for row in cursor.fetchall()]
        # SQLite: writers are serialized, and this transaction writes; max(id) is its own.
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table.name}")
        last = int(cursor.fetchone()[0])
        return list(range(last + 1, last + 1 + count))
    finally:
        cursor.close()


def _processor(column_type: TypeEngine[Any], dialect: Dialect) -> Processor:
    """The conversion SQLAlchemy applies to a column's values for this dialect."""
    if isinstance(column_type, UTCDateTime) and dialect.name == "sqlite":
        return UTCDateTime.sqlite_text  # the same text, without three layers of calls
    return column_type.dialect_impl(dialect).bind_processor(dialect)


def _cursor(connection: Connection) -> Any:
    """A cursor of the driver's connection, in the transaction SQLAlchemy opened on it."""
    return connection.connection.driver_connection.cursor()  # type: ignore[union-attr]


def insert_rows(
    connection: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    """Insert ``rows`` into ``table``; each row holds the values of ``columns``, in that order."""
    if not rows:
        return
    dialect = connection.dialect
    if dialect.name not in ("sqlite", "postgresql"):
        raise NotImplementedError(f"no bulk writes for {dialect.name}")
    processors = [_processor(table.c[name].type, dialect) for name in columns]
    values: Sequence[tuple[Any, ...]] = rows
    if any(processors):
        by_column = list(zip(*rows, strict=True))
        values = list(
            zip(
                *(
                    column if process is None else list(map(process, column))
                    for column, process in zip(by_column, processors, strict=True)
                ),
                strict=True,
            )
        )
    names = ", ".join(columns)
    cursor = _cursor(connection)
    try:
        if dialect.name == "sqlite":
            marks = ", ".join("?" for _ in columns)
            cursor.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", values)
        elif len(values) <= FEW:  # one pipelined round trip; COPY costs three
            marks = ", ".join("%s" for _ in columns)
            cursor.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", values)
        else:
            with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
    finally:
        cursor.close()
