"""Small statements run often, run by the driver: built once, compiled once per database,
their rows converted by the columns' own types.

Recording a group of single events runs a few small reads (the accounts, their members named,
the ids already seen) and a write; through SQLAlchemy's execution each costs four times what
the database does (the accounts' read of two accounts on SQLite: 63 µs, 15 µs by the driver).
A statement given here has a text that never changes with its values: a list is one
parameter (:func:`one_of`; :func:`~seatwise.store.bulk.select_pairs` for pairs), so it is
compiled once, and each run binds its values by name and sends the text as it is. The values
go to the driver as they are (text, numbers, a list of text): no column type converts them, so
a statement here takes no instant. The rows come back as named tuples, each column converted
as SQLAlchemy would (an instant's text on SQLite read by
:class:`~seatwise.store.types.UTCDateTime`)."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import ARRAY, ColumnElement, Connection, String, any_, bindparam, func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.types import TypeEngine

from seatwise.store.database import SESSION_SETTINGS

Converter = Callable[[Any], Any] | None


def one_of(form: str, column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    """``column`` is one of the list bound as ``name`` (a list of text, :func:`rows_later`
    binds it), in a form whose text does not change with the list's length: PostgreSQL's
    ``= ANY(array)``, SQLite's ``IN (SELECT value FROM json_each(…))``."""
    if form == "postgresql":
        return column == any_(bindparam(name, type_=ARRAY(String)))
    listed = func.json_each(bindparam(name)).table_valued("value")
    return column.in_(select(listed.c.value).scalar_subquery())


@dataclass(frozen=True)
class _Compiled:
    text: str
    names: tuple[str, ...] | None  # the parameters in order (SQLite's "?"), or None: by name
    constants: dict[str, Any]  # values the statement binds itself (a literal compared with)
    required: frozenset[str]  # the parameters each run gives
    row: Any  # the named tuple of its rows (None: it returns none)
    converters: tuple[Converter, ...]


def converter(column_type: TypeEngine[Any], dialect: Dialect) -> Converter:
    """What SQLAlchemy does to a value of this type read from the dialect's driver; None:
    nothing."""
    found: Converter = column_type.dialect_impl(dialect).result_processor(dialect, None)
    return found


_COMPILED: dict[tuple[int, str], tuple[ClauseElement, _Compiled]] = {}


def _compiled(statement: ClauseElement, dialect: Dialect) -> _Compiled:
    key = (id(statement), dialect.name)
    found = _COMPILED.get(key)
    if found is not None and found[0] is statement:
        return found[1]
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    if "POSTCOMPILE" in str(compiled):  # an IN list rendered per run: one parameter instead
        raise ValueError(f"a statement run by the driver has an expanding list: {compiled}")
    columns = getattr(compiled, "_result_columns", None) or []
    row = namedtuple("Row", [column[0] for column in columns]) if columns else None
    converters = tuple(converter(column[3], dialect) for column in columns)
    positions = compiled.positiontup
    made = _Compiled(
        str(compiled),
        None if positions is None else tuple(positions),
        {
            name: value
            for name, value in (compiled.construct_params(_check=False) or {}).items()
            if not compiled.binds[name].required  # a value of its own, None included
        },
        frozenset(name for name, bind in compiled.binds.items() if bind.required),
        row,
        converters,
    )
    _COMPILED[key] = (statement, made)  # the statement kept alive: its id stays its own
    return made


def _bound(compiled: _Compiled, dialect: Dialect, params: dict[str, Any]) -> Any:
    if not compiled.required <= params.keys():
        raise ValueError(f"no value for {', '.join(sorted(compiled.required - params.keys()))}")
    values = {**compiled.constants, **params}
    if dialect.name == "sqlite":  # a list goes to json_each as one JSON text
        values = {
            name: orjson.dumps(value).decode() if isinstance(value, list | tuple) else value
            for name, value in values.items()
        }
    if compiled.names is None:
        return values
    return tuple(values[name] for name in compiled.names)


Later = Callable[[], list[Any]]


@contextmanager
def together(connection: Connection) -> Iterator[None]:
    """Statements sent here by :func:`rows_later` reach PostgreSQL together, in one round
    trip (psycopg's pipeline), and are answered together when the first of them is fetched
    or the block ends; the database still runs them one after the other, in order, each with
    a snapshot of its own (a read after a lock sees what the lock waited for). Elsewhere each
    runs when it is sent."""
    dbapi = connection.connection.driver_connection
    if connection.dialect.name != "postgresql" or dbapi is None:
        yield
        return
    with dbapi.pipeline():
        yield


FEW_LOOKED_UP = 64  # values asked up to which lookups are planned once, not for their values

# Lookups planned once for any values, by their indexes (PostgreSQL's settings for the rest
# of the transaction), the settings as they were kept first; then those settings again. (A
# statement's expressions are computed in order: the old values are kept before the new.)
_BY_INDEX = (
    "SELECT set_config('seatwise.settings_before', current_setting('plan_cache_mode') "
    "|| ' ' || current_setting('enable_seqscan'), true), "
    "set_config('plan_cache_mode', 'force_generic_plan', true), "
    "set_config('enable_seqscan', 'off', true)"
)
_AS_BEFORE = (
    "SELECT set_config('plan_cache_mode', "
    "split_part(current_setting('seatwise.settings_before'), ' ', 1), true), "
    "set_config('enable_seqscan', "
    "split_part(current_setting('seatwise.settings_before'), ' ', 2), true)"
)
# The same, for a whole session (a connection of quick_writes_engine: its few rows' lookups
# and key checks are all planned so), where _BY_INDEX and _AS_BEFORE are not sent.
BY_INDEX_SETTINGS = {"plan_cache_mode": "force_generic_plan", "enable_seqscan": "off"}
_PLANNING = "seatwise_lookups_planning"  # in the connection's info: inside a block already
_SET_BY_INDEX = "seatwise_set_by_index"  # in the connection's info: _BY_INDEX sent, not undone


@contextmanager
def lookups_planned(connection: Connection, asked: int) -> Iterator[None]:
    """Lookups run here by :func:`rows_later` (rows found by the values of an index's
    columns, a few per value, ``asked`` values at most) are planned on PostgreSQL by their
    indexes, whatever the tables hold: a few values' once for all, more values' for their
    values at each run. Inside another such block, as that block decided.

    **A few values** (a group of single events): planning the lookups for each run's values
    cost more than running them (a group of 8 events: its five reads' planning 0.4 ms of
    PostgreSQL's 1.3 ms, measured), so they are planned once, for any values (a *generic*
    plan, kept by the prepared statement), with sequential scans off: a generic plan is made
    for the tables as they are then, and one made while a table was empty scans it, and,
    kept while it grows, scans it whole at every run (measured: the event ids' lookup, 0.1 →
    8 ms as the table grew). The settings are the transaction's for the statements sent
    here (in a pipeline, they travel with them), then as they were; a failure here leaves
    them to the transaction's end (rolled back). Once set, PostgreSQL does a little more
    for each row the transaction writes (a batch's thousand rows in three tables: +2.5 ms of
    its 32, measured), which is why **more values** (a batch) are not planned so: their
    statements are not prepared, so PostgreSQL plans each run for its values and tables
    (prepared, PostgreSQL may give a statement a generic plan by its own estimates: the
    members' lookup then read every event of the accounts and filtered them, and a batch
    cost more each minute; planning a thousand values' lookups is a small part of running
    them). On SQLite, nothing to do: it looks these up by their indexes
    (``tests/integration/test_pair_reads.py``)."""
    info = connection.info
    driver = connection.connection.driver_connection
    if connection.dialect.name != "postgresql" or driver is None or info.get(_PLANNING):
        yield
        return
    info[_PLANNING] = True
    try:
        if asked > FEW_LOOKED_UP:
            threshold = driver.prepare_threshold
            driver.prepare_threshold = None  # not prepared: planned with its values
            try:
                yield
            finally:
                driver.prepare_threshold = threshold
            return
        with _by_index(connection, driver):
            yield
    finally:
        info.pop(_PLANNING, None)


@contextmanager
def _by_index(connection: Connection, driver: Any) -> Iterator[None]:
    """PostgreSQL's statements sent here on ``driver`` planned once, by index (``_BY_INDEX``),
    then the settings as they were; a failure leaves them to the transaction's end. Inside
    another such block, or in a session set so (:data:`BY_INDEX_SETTINGS`), nothing more."""
    info = connection.info
    session = info.get(SESSION_SETTINGS) or {}
    if info.get(_SET_BY_INDEX) or BY_INDEX_SETTINGS.items() <= session.items():
        yield
        return
    info[_SET_BY_INDEX] = True
    cursor = driver.cursor()
    try:
        cursor.execute(_BY_INDEX)
        yield
        cursor.execute(_AS_BEFORE)
    finally:
        cursor.close()
        info.pop(_SET_BY_INDEX, None)


@contextmanager
def keys_checked_by_index(connection: Connection) -> Iterator[None]:
    """Rows written here have their foreign keys checked, on PostgreSQL, by the referenced
    tables' primary keys, whatever those tables held when the check was planned.

    PostgreSQL checks each row's foreign key with a query it plans once per connection and
    keeps (a generic plan). Planned while the referenced table is small and has statistics
    that say so (``ANALYZE`` or ``VACUUM`` of a new database, by an operator or autovacuum),
    that query scans the table, and it keeps scanning it, whole, for every row written, as
    the table grows: billing 3,000 new accounts of the benchmark's after an ``ANALYZE`` of
    their empty invoices took PostgreSQL 22.7 ms of CPU an account instead of 0.8 (each of
    52,000 lines and status changes read the invoices table through; ten times slower in
    all, and worse the more the table held), and a batch of events scanned the accounts for
    each event, new member and id it wrote. Here the checks are planned by index, once (the
    settings of :func:`lookups_planned`'s few values), then the settings are as they were
    (for a group of single events' few rows, in the same round trip as the rows). A check
    that a connection first planned elsewhere keeps that plan: a billing run's own
    connections (``seatwise bill``) write these rows nowhere else; a server's also make its
    other writes (an account's creation, a payment recorded…), planned as PostgreSQL
    chooses. On SQLite, nothing to do: it checks by the key
    (``tests/integration/test_key_checks.py``)."""
    driver = connection.connection.driver_connection
    if connection.dialect.name != "postgresql" or driver is None:
        yield
        return
    with _by_index(connection, driver):
        yield


def rows_later(connection: Connection, statement: ClauseElement, params: dict[str, Any]) -> Later:
    """Send ``statement`` (a select whose text does not change with ``params``) now, in the
    connection's transaction; its rows when the answer is called for, as named tuples of
    converted values (inside :func:`together`, after the statements sent with it)."""
    compiled = _compiled(statement, connection.dialect)
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(compiled.text, _bound(compiled, connection.dialect, params))
    except BaseException:
        cursor.close()
        raise

    def answer() -> list[Any]:
        try:
            fetched: Sequence[Any] = cursor.fetchall()
        finally:
            cursor.close()
        make, converters = compiled.row, compiled.converters
        if not any(converters):
            return [make._make(row) for row in fetched]
        return [
            make._make(
                value if convert is None else convert(value)
                for value, convert in zip(row, converters, strict=True)
            )
            for row in fetched
        ]

    return answer


def execute(connection: Connection, statement: ClauseElement, params: dict[str, Any]) -> None:
    """Run ``statement`` (a write whose text does not change with ``params``) by the driver,
    in the connection's transaction."""
    compiled = _compiled(statement, connection.dialect)
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(compiled.text, _bound(compiled, connection.dialect, params))
    finally:
        cursor.close()
