"""Python's cycle collector, set for a process that does much work before it ends: a
``seatwise serve`` worker, a ``seatwise bill`` run and each of its ``--workers``.

Such a process allocates millions of short-lived objects (rows, records, invoices), nearly all
freed by their reference counts, never by the collector. With Python's defaults the collector
still goes over them: the youngest every 700 allocations, and each of its full collections,
which the allocations set off, over the whole heap — the modules, SQLAlchemy's and
pydantic's structures, everything the process built before its work. Counted by callgrind,
a billing run of 200 accounts on SQLite: 2,312M instructions with the defaults, 2,249M set
so (−2.8%; the share grows with a run, whose full collections walk a growing heap: 3,000
accounts timed with the collector's callbacks spent 0.9–1.4 s of 6.4–9.9 s collecting with
the defaults, about 0.2 s set so); a server's batch of 1,000 events 39 → 34 ms, then 30.5 → 28.5 ms.

Only the collector's schedule changes: cyclic garbage made during the work is collected all
the same, a little later; nothing is freed that would not be.
"""

from __future__ import annotations

import gc

YOUNG_OBJECTS = 50_000  # allocations between two examinations of the youngest generation


def settle_for_work() -> None:
    """Call once the process has built what it keeps (imports, app, engine), before its work:
    what exists now is moved out of the collector's reach for the process's life
    (``gc.freeze``: the full collections no longer walk it), and the youngest generation is
    examined every :data:`YOUNG_OBJECTS` allocations instead of 700 (work that keeps
    thousands of objects alive a while — a batch's requests and rows, a transaction's
    accounts — had them walked again and again as they aged)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS, *gc.get_threshold()[1:])
