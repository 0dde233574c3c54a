"""The ``seatwise`` command line: a thin shell over the engine's use cases, one module per
area (``simulation``, ``analysis``, ``demo``, ``store``, ``events``, ``invoices``, ``credits``,
``payments``, ``server``, ``documents``);
:mod:`seatwise.cli.app` turns every failure into one line."""

from seatwise.cli import (
    analysis,
    credits,
    demo,
    documents,
    events,
    invoices,
    payments,
    server,
    simulation,
    store,
)
from seatwise.cli.app import main
from seatwise.cli.simulation import example_files

__all__ = [
    "analysis",
    "credits",
    "demo",
    "documents",
    "events",
    "example_files",
    "invoices",
    "main",
    "payments",
    "server",
    "simulation",
    "store",
]
