"""What Seatwise accepts: the bounds that make everything accepted storable and billable.

Amounts are stored as signed 64-bit integers of minor units (at most 9.2 × 10^18). With at
most :data:`MAX_SEATS` seats at :data:`MAX_AMOUNT` each, one line is at most 10^16 and a year
of monthly invoices about 1.2 × 10^17: far inside. Instants stay inside years
:data:`FIRST_YEAR`–:data:`LAST_YEAR`, so that every date computed from them (a term, net days,
a retention period) exists. Identifiers are bounded and printable, so that they fit their
columns on every database and never carry control characters into emails or logs.

Every check raises :class:`~seatwise.core.errors.FieldError` naming the field.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from seatwise.core.errors import FieldError
from seatwise.core.periods import iso

MAX_SEATS = 1_000_000  # committed and minimum seats, members created at once, tier `from`
MAX_AMOUNT = 10**10  # minor units: a seat price, a credit price, a threshold, a payment
MAX_CREDITS = 1_000_000  # credits in one purchase or one assignment
MAX_DAYS = 3650  # net days, reminder days, retry and grace days
MAX_HOURS = 8760  # the anchor's delay
MAX_ATTEMPTS = 100  # charges of one invoice
FIRST_YEAR, LAST_YEAR = 1970, 2199
MAX_MEMBER_ID = 200  # member ids and premium content ids
MAX_ACCOUNT_ID = 100
MAX_EMAIL = 320
MAX_TEXT = 1000  # reasons, names
MAX_ID = 2**63 - 1  # a stored row's number (a key, a webhook endpoint): the largest integer
MAX_SEQ = 2**31 - 1  # an event's place in its account's timeline (a 32-bit column)
MAX_URL = 2000

# Control characters, and the halves of a character (surrogates): what a command line gives
# for a byte that is not UTF-8; no database, email or log can hold them.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_ACCOUNT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\Z")
# A pragmatic check of an address: one @, a dot in the domain, nothing that breaks a header.
_EMAIL = re.compile(
    r"^[^@\s<>(),;:\"\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+\Z"
)


def check_count(value: int, field: str, maximum: int = MAX_SEATS, minimum: int = 0) -> int:
    if value < minimum:
        raise FieldError(field, f"{value} is below the minimum of {minimum}")
    if value > maximum:
        raise FieldError(field, f"{value:,} is above the maximum of {maximum:,}")
    return value


def check_amount(minor: int, field: str) -> int:
    """A non-negative amount of minor units, at most :data:`MAX_AMOUNT`."""
    if minor < 0:
        raise FieldError(field, "must not be negative")
    if minor > MAX_AMOUNT:
        raise FieldError(
            field,
            f"{minor:,} minor units is above the maximum of {MAX_AMOUNT:,} "
            "(100,000,000.00 in a currency with cents)",
        )
    return minor


def check_instant(at: datetime, field: str) -> datetime:
    """An aware instant inside the supported years, in UTC."""
    if at.tzinfo is None:
        raise FieldError(field, f"{at.isoformat()} has no time zone: add Z or an offset")
    try:
        instant = at.astimezone(UTC)
    except OverflowError:  # 0001-01-01 east of UTC, 9999-12-31 west of it: no such instant
        instant = None
    if instant is None or not FIRST_YEAR <= instant.year <= LAST_YEAR:
        raise FieldError(
            field,
            f"{at.isoformat() if instant is None else iso(instant)} is outside the supported "
            f"years {FIRST_YEAR}–{LAST_YEAR}",
        )
    return instant


def parse_instant(text: str, field: str) -> datetime:
    """An ISO 8601 instant with a time zone (``2025-03-01T09:00:00Z``, ``…+01:00``; a
    lower-case ``z`` too), in UTC; :class:`FieldError` for anything else."""
    cleaned = text.strip()
    if cleaned.endswith("z"):
        cleaned = cleaned[:-1] + "Z"
    cleaned = cleaned.replace("t", "T", 1) if len(cleaned) > 10 and cleaned[10] == "t" else cleaned
    try:
        value = datetime.fromisoformat(cleaned)
    except ValueError:
        raise FieldError(
            field, f"{text!r} is not an ISO 8601 instant like 2025-03-01T09:00:00Z"
        ) from None
    if value.tzinfo is None:
        raise FieldError(field, f"{text!r} has no time zone: add Z (UTC) or an offset")
    return check_instant(value, field)


def check_text(value: str, field: str, maximum: int = MAX_TEXT, empty: bool = False) -> str:
    """Printable text of at most ``maximum`` characters, not blank unless ``empty``."""
    if not empty and not value.strip():
        raise FieldError(field, "must not be empty")
    if len(value) > maximum:
        raise FieldError(field, f"is longer than {maximum:,} characters")
    refused = _CONTROL.search(value)
    if refused is not None:
        if "\ud800" <= refused.group() <= "\udfff":
            raise FieldError(field, "is not valid text: it has a byte that is not UTF-8")
        raise FieldError(field, "must not contain control characters (line breaks, tabs…)")
    return value


def check_member_id(value: str, field: str = "member") -> str:
    """A member id (or a premium content id): 1–200 printable characters."""
    return check_text(value, field, MAX_MEMBER_ID)


def check_account_id(value: str, field: str = "account") -> str:
    """An account id: 1–100 letters, digits, ``.``, ``_`` or ``-``, starting with a letter or
    digit (it appears in URLs)."""
    if len(value) > MAX_ACCOUNT_ID:
        raise FieldError(field, f"is longer than {MAX_ACCOUNT_ID} characters")
    if not _ACCOUNT_ID.match(value):
        raise FieldError(
            field,
            f"{value!r} is not an account id: use letters, digits, '.', '_' or '-', "
            "starting with a letter or digit",
        )
    return value


def check_email(value: str, field: str = "email") -> str:
    """An email address (``name@example.com``)."""
    if len(value) > MAX_EMAIL:
        raise FieldError(field, f"is longer than {MAX_EMAIL} characters")
    if _CONTROL.search(value) or not _EMAIL.match(value):
        raise FieldError(field, f"{value!r} is not an email address like billing@example.com")
    return value


def check_url(value: str, field: str = "url") -> str:
    """An http(s) URL."""
    check_text(value, field, MAX_URL)
    if not re.match(r"^https?://[^\s/?#]+", value):
        raise FieldError(field, f"{value!r} is not an http(s) URL")
    return value


@functools.cache
def _iana_zones() -> frozenset[str]:
    """The zone names of the IANA database (the ``tzdata`` package's list)."""
    return frozenset(resources.files("tzdata").joinpath("zones").read_text().split())


def check_timezone(name: str, field: str = "timezone") -> ZoneInfo:
    """An IANA time zone by its name (``Europe/Paris``). Only the database's names: this
    machine's files also answer to ``localtime`` (whatever zone the server is set to, so
    an account's anniversaries would move with the machine), ``posixrules`` and the
    ``posix/`` and ``right/`` copies (the latter counting leap seconds)."""
    check_text(name, field, 64)
    if name in _iana_zones():
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):  # listed, but no rules for it here
            pass
    raise FieldError(field, f"{name!r} is not an IANA time zone such as Europe/Paris")


def storable_id(number: int) -> bool:
    """Whether a row's number (a key's, an endpoint's) is one the store can hold: any other
    is of no row (asked of the store, it would be an overflow, not an answer)."""
    return 1 <= number <= MAX_ID
