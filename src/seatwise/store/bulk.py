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

import functools
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from itertools import chain
from typing import Any

import orjson
import psycopg
from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    Select,
    String,
    Table,
    bindparam,
    func,
    literal_column,
    select,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.types import TypeEngine

from seatwise.store import driver
from seatwise.store.types import UTCDateTime

Processor = Callable[[Any], Any] | None
FEW = 20  # rows up to which PostgreSQL takes one INSERT rather than a COPY


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


def driver_rows(
    connection: Connection, query: Select[Any], params: dict[str, Any]
) -> list[Sequence[Any]]:
    """``query``'s rows as the driver gives them, all at once: each a tuple of its columns'
    values, none converted (read an instant with :func:`reader`). SQLAlchemy compiles and
    runs the query as any other; only its rows are left out: it makes each with Python calls
    of its own, which cost more than a small row's values (a billing run reads a row a
    timeline event)."""
    result = connection.execute(query, params)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def reader(column: ColumnElement[Any], dialect: Dialect) -> Callable[[Any], Any]:
    """What SQLAlchemy does to a value of ``column`` read from this dialect's driver (the
    value as it is, for a type that does nothing)."""
    found = driver.converter(column.type, dialect)
    return found if found is not None else _as_it_is


def _as_it_is(value: Any) -> Any:
    return value


def select_pairs(
    form: str,
    columns: Sequence[ColumnElement[Any]],
    pair: tuple[ColumnElement[Any], ColumnElement[Any]],
    *conditions: ColumnElement[bool],
    order_by: Sequence[str] = (),
) -> Select[Any]:
    """A statement reading ``columns`` of the rows of some ``(a, b)`` pairs of ``pair``'s
    columns (an account's members, an account's event ids) that meet ``conditions``, ordered
    by the ``order_by`` columns (which are among ``columns``), in the ``form``
    :func:`rows_among` asks for; run inside
    :func:`~seatwise.store.driver.lookups_planned`. Either way its text is the same
    whatever the pairs (built once), where an ``IN`` list is rendered, sent
    and parsed again for each value (a thousand members of a batch), and each pair asked for
    is looked up once, by the index on ``pair``, however many rows the table or the accounts
    hold.

    ``postgresql``: the pairs are two parallel array parameters, ``unnest``-ed; each is
    looked up by a ``LATERAL`` subquery that ``OFFSET 0`` keeps apart, so the planner cannot
    turn the lookups into a hash join over the whole table (it did: the members' read of a
    batch of 1,000 over 10 accounts took 38 ms of a sequential scan of 110,000 members
    against 4 ms of lookups). Until 6 Dec the form was ``a = ANY(…) AND b = ANY(…)``, which
    reads every combination, or every row of the accounts: the same read took 84 ms, over
    200 accounts 1.1 s. ``sqlite``: the pairs are one JSON parameter read by ``json_each``."""
    first, second = pair
    if form == "postgresql":
        asked = (
            func.unnest(
                bindparam("firsts", type_=ARRAY(String)), bindparam("seconds", type_=ARRAY(String))
            )
            .table_valued("first_value", "second_value")
            .render_derived(name="asked")
        )
        query = select(*columns).where(*conditions)
        matches = (first == asked.c.first_value, second == asked.c.second_value)
        return _each_looked_up(asked, query, matches, order_by)
    listed = func.json_each(bindparam("pairs")).table_valued("value").alias("asked")
    query = select(*columns).where(
        first == func.json_extract(listed.c.value, "$[0]"),
        second == func.json_extract(listed.c.value, "$[1]"),
        *conditions,
    )
    return _ordered(query, order_by)


def of_each(
    form: str,
    query: Select[Any],
    column: ColumnElement[Any],
    order_by: Sequence[str] = (),
    keys: str = "account_ids",
) -> Select[Any]:
    """``query``'s rows of the accounts bound as ``keys`` (a list of ids) through ``column``,
    ordered by the ``order_by`` columns (among the query's), for any number of accounts (or
    of other keys: invoices' ids, of an integer ``column``).

    ``postgresql``: each account's rows are looked up by the index on ``column`` (a
    ``LATERAL`` subquery per account, kept apart by ``OFFSET 0``), whatever the planner's
    statistics say. With ``column IN (…)`` it estimated a chunk's 50 accounts as a quarter of
    a table it had no statistics of — a table a billing run fills as it goes — and scanned it
    whole for every chunk: a run's reads grew with the square of its accounts (3,000 accounts:
    a chunk's timeline read 27 ms, its invoices' 18 ms, scanning 250,000 events and 26,000
    invoices). ``sqlite``: ``column IN (…)``, which SQLite answers by the index."""
    if form == "postgresql":
        wanted = (
            func.unnest(bindparam(keys, type_=ARRAY(column.type)))
            .table_valued("key")
            .render_derived(name="wanted")
        )
        return _each_looked_up(wanted, query, (column == wanted.c.key,), order_by)
    return _ordered(query.where(column.in_(bindparam(keys, expanding=True))), order_by)


def _each_looked_up(
    wanted: Any,
    query: Select[Any],
    matches: Sequence[ColumnElement[bool]],
    order_by: Sequence[str],
) -> Select[Any]:
    """PostgreSQL: ``query``'s rows for each row of ``wanted`` (arrays ``unnest``-ed) that
    ``matches`` them, looked up by a ``LATERAL`` subquery that ``OFFSET 0`` keeps apart (the
    planner cannot flatten it into a join, which it may hash over the whole table), ordered
    by the ``order_by`` columns of ``query``."""
    found = query.where(*matches).offset(literal_column("0")).lateral("found")
    return (
        select(*found.c)
        .select_from(wanted.join(found, true()))
        .order_by(*(found.c[name] for name in order_by))
    )


def _ordered(query: Select[Any], order_by: Sequence[str]) -> Select[Any]:
    """``query`` ordered by these of its columns, by name."""
    by_name = {selected.key: selected for selected in query.selected_columns}
    return query.order_by(*(by_name[name] for name in order_by))


def rows_among(
    connection: Connection,
    statement: Callable[[str], ClauseElement],
    pairs: Collection[tuple[str, str]],
) -> list[Any]:
    """The rows of ``statement(form)`` (built with :func:`select_pairs` in that form) for
    these pairs, run by the driver (:func:`~seatwise.store.driver.rows_later`)."""
    return rows_among_later(connection, statement, pairs)()


def rows_among_later(
    connection: Connection,
    statement: Callable[[str], ClauseElement],
    pairs: Collection[tuple[str, str]],
) -> driver.Later:
    """:func:`rows_among` sent now, its rows when called for
    (:func:`~seatwise.store.driver.rows_later`)."""
    if not pairs:
        return list
    unique = sorted(set(pairs))  # each pair's rows once
    if connection.dialect.name == "postgresql":
        lists = {
            "firsts": [first for first, _ in unique],
            "seconds": [second for _, second in unique],
        }
        return driver.rows_later(connection, statement("postgresql"), lists)
    return driver.rows_later(
        connection, statement("sqlite"), {"pairs": orjson.dumps(unique).decode()}
    )


@contextmanager
def few_writes(connection: Connection, *counts: int) -> Iterator[None]:
    """Writes of a few rows each (at most :data:`FEW`: ``counts``) made here reach PostgreSQL
    together, in one round trip (psycopg's pipeline) instead of one each; for more rows each
    write stays a ``COPY`` of its own (which a pipeline cannot carry)."""
    driver = connection.connection.driver_connection
    if connection.dialect.name != "postgresql" or driver is None or max(counts, default=0) > FEW:
        yield
        return
    with driver.pipeline():
        yield


def _driver(connection: Connection) -> Any:
    """The driver's connection, in the transaction SQLAlchemy opened on it."""
    return connection.connection.driver_connection


def _cursor(connection: Connection) -> Any:
    """A cursor of the driver's connection, in the transaction SQLAlchemy opened on it."""
    return _driver(connection).cursor()


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
    processors, insert, copy_text = _writes_of(table, tuple(columns), dialect)
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
    few = dialect.name == "postgresql" and len(values) <= FEW
    # a few rows: one statement, a pipelined round trip where a COPY costs three, and one
    # execution for all the rows (each row's own: 9% more of PostgreSQL's time and 4% more
    # of Python's for a group of 8 single events), its text sent as it is (_rows_insert)
    cursor = psycopg.RawCursor(_driver(connection)) if few else _cursor(connection)
    try:
        if dialect.name == "sqlite":
            _insert_sqlite(cursor, insert, len(columns), values)
        elif few:
            cursor.execute(_rows_insert(insert, len(values)), [v for row in values for v in row])
        else:
            with cursor.copy(copy_text) as copy:
                for row in values:
                    copy.write_row(row)
    finally:
        cursor.close()


SQLITE_VALUES = 999  # at most this many values a statement: SQLite's own limit where it is lowest


def _insert_sqlite(cursor: Any, insert: str, width: int, values: Sequence[tuple[Any, ...]]) -> None:
    """``values`` (rows of ``width`` values) inserted on SQLite: as many rows a statement as
    its values allow (at most 64), the rest one a statement. Each statement run costs its
    own step, reset and Python's lock released and taken again around each; a row a
    statement cost about 30,000 instructions an invoice, 24,000 with 64 rows a statement
    (4,000 invoices: 119.8M → 97.3M, callgrind). Two texts a table, each prepared once."""
    rows = max(1, min(64, SQLITE_VALUES // width))
    whole = len(values) // rows * rows
    if whole:
        chunks = (list(chain.from_iterable(values[i : i + rows])) for i in range(0, whole, rows))
        cursor.executemany(_sqlite_rows_insert(insert, rows), chunks)
    if whole < len(values):
        cursor.executemany(insert, values[whole:])


@functools.lru_cache(maxsize=256)
def _sqlite_rows_insert(insert: str, count: int) -> str:
    """``insert`` (of one row, ``?`` marks) for ``count`` rows."""
    head, _, row = insert.partition(" VALUES ")
    return f"{head} VALUES {', '.join([row] * count)}"


@functools.lru_cache(maxsize=256)
def _writes_of(
    table: Table, columns: tuple[str, ...], dialect: Dialect
) -> tuple[tuple[Processor, ...], str, str]:
    """The columns' conversions, the ``INSERT`` and the ``COPY`` of a table's columns, made
    once (a group of single events writes three tables: made each time, they were 7% of a
    group of 4 events' instructions)."""
    processors = tuple(_processor(table.c[name].type, dialect) for name in columns)
    names = ", ".join(columns)
    mark = "?" if dialect.name == "sqlite" else "%s"
    marks = ", ".join(mark for _ in columns)
    insert = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"
    return processors, insert, f"COPY {table.name} ({names}) FROM STDIN"


@functools.lru_cache(maxsize=256)
def _rows_insert(insert: str, count: int) -> str:
    """``insert`` (of one row) for ``count`` rows, its values numbered (``$1``, ``$2``…):
    one text per count, made once (and prepared by the driver once it has run a few times).
    Numbered, the driver sends it as it is; with ``%s`` marks, psycopg parses a text of
    more than 50 values again at every run (a group of 8 events writes 80)."""
    head, _, marks = insert.partition(" VALUES ")
    width = marks.count("%s")
    numbered = (
        "(" + ", ".join(f"${row * width + column + 1}" for column in range(width)) + ")"
        for row in range(count)
    )
    return f"{head} VALUES {', '.join(numbered)}"
