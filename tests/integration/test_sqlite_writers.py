"""SQLite writers queue on a lock of the file beside the database, not on SQLite's busy
handler (which sleeps up to 100 ms between tries): a writer in another process waits for
exactly as long as the lock is held."""

from __future__ import annotations

import fcntl
import multiprocessing
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from seatwise.store.database import make_engine, write_transaction


def _can_lock(path: Path) -> bool:
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return True


def test_a_write_transaction_holds_the_file_lock_until_it_ends(tmp_path: Path) -> None:
    database = tmp_path / "store.db"
    engine = make_engine(f"sqlite:///{database}")
    lock = tmp_path / "store.db-writer.lock"
    with write_transaction(engine) as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
        assert not _can_lock(lock)  # another process (another open file) would wait here
    assert _can_lock(lock)
    with pytest.raises(RuntimeError), write_transaction(engine):
        assert not _can_lock(lock)
        raise RuntimeError("a failed transaction")
    assert _can_lock(lock)  # released on failure too
    with engine.connect() as connection:  # a reader takes no lock
        connection.execute(text("SELECT count(*) FROM t"))
        assert _can_lock(lock)


def _write_rows(url: str, writer: int, count: int) -> None:
    engine = make_engine(url)
    for _ in range(count):
        with write_transaction(engine) as connection:
            last = connection.execute(text("SELECT coalesce(max(n), 0) FROM t")).scalar_one()
            connection.execute(
                text("INSERT INTO t (n, writer) VALUES (:n, :w)"), {"n": last + 1, "w": writer}
            )
    engine.dispose()


def test_writers_of_several_processes_take_turns(tmp_path: Path) -> None:
    """Each transaction reads the last number and writes the next: interleaved writers
    would write a number twice (the UNIQUE constraint would refuse it)."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url)
    with write_transaction(engine) as connection:
        connection.execute(text("CREATE TABLE t (n INTEGER UNIQUE, writer INTEGER)"))
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_write_rows, args=(url, w, 60)) for w in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [worker.exitcode for worker in workers] == [0, 0, 0]
    with engine.connect() as connection:
        numbers = connection.execute(text("SELECT n FROM t ORDER BY n")).scalars().all()
        writers = connection.execute(text("SELECT DISTINCT writer FROM t")).scalars().all()
    assert numbers == list(range(1, 181))
    assert sorted(writers) == [0, 1, 2]


def test_a_lock_held_past_the_busy_timeout_leaves_the_decision_to_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process that holds the file's lock for ever (stuck, or not Seatwise) holds a writer
    only for SQLite's busy timeout; the writer then goes on under SQLite's own lock."""
    monkeypatch.setenv("SEATWISE_SQLITE_BUSY_SECONDS", "0.3")
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    lock = tmp_path / "store.db-writer.lock"
    with write_transaction(engine) as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    with open(lock, "a+b") as stuck:
        fcntl.flock(stuck.fileno(), fcntl.LOCK_EX)
        with write_transaction(engine) as connection:  # after 0.3 s, without the file's lock
            connection.execute(text("INSERT INTO t VALUES (1)"))
        fcntl.flock(stuck.fileno(), fcntl.LOCK_UN)
    deadline = time.monotonic() + 10  # the abandoned wait takes it, then lets it go
    while not _can_lock(lock):
        assert time.monotonic() < deadline, "the abandoned wait kept the lock"
        time.sleep(0.01)
    with write_transaction(engine) as connection:
        connection.execute(text("INSERT INTO t VALUES (2)"))
        assert not _can_lock(lock)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM t")).scalar_one() == 2
