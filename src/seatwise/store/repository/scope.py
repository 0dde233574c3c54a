"""The account scope: inside it, the store knows one account only.

An account session (a customer's billing admin, through the API or the billing page) runs its
requests inside :func:`account_scope`; the repository's queries of accounts and invoices then
treat every other account as unknown — its id, its invoices' numbers — so no handler can leak
another account by forgetting a check. Outside a scope (the vendor, the CLI, billing runs)
every account is known. An account the scope does not know is an :class:`UnknownAccount`,
as one that does not exist is.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from seatwise.core.errors import SeatwiseError

_ACCOUNT: ContextVar[str | None] = ContextVar("seatwise_account_scope", default=None)


@contextmanager
def account_scope(account_id: str | None) -> Iterator[None]:
    """Run the block knowing only ``account_id`` (None: every account)."""
    token = _ACCOUNT.set(account_id)
    try:
        yield
    finally:
        _ACCOUNT.reset(token)


def scoped_account() -> str | None:
    """The one account the current scope knows, or None when it knows them all."""
    return _ACCOUNT.get()


def in_scope(account_id: str) -> bool:
    scoped = _ACCOUNT.get()
    return scoped is None or scoped == account_id


def enter_account_scope(account_id: str | None) -> None:
    """Enter the scope for the rest of the current context (an API request's task: its
    handler and what it calls run in copies of that context)."""
    _ACCOUNT.set(account_id)


class UnknownAccount(SeatwiseError):
    """No account has this id."""


def check_in_scope(account_id: str) -> None:
    """:class:`UnknownAccount` for an account the current scope does not know."""
    if not in_scope(account_id):
        raise UnknownAccount(f"no account {account_id!r}")
