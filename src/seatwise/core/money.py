"""Money: currencies, exact amounts, the one rounding rule (SPEC section 5).

Stored amounts are integers in the currency's minor unit (cents for EUR, yen for JPY).
Computations that divide (prorations) use ``fractions.Fraction`` and are rounded exactly
once, half-up, by :func:`round_half_up`. No float ever touches an amount.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from seatwise.core.errors import InvalidAmount

# ISO 4217 minor-unit exponents of the currencies Seatwise knows, with a display symbol
# where one is unambiguous. Other currencies are shown with their code ("CHF 10.00").
_CURRENCIES: dict[str, tuple[int, str | None]] = {
    "AED": (2, None),
    "ARS": (2, None),
    "AUD": (2, "A$"),
    "BGN": (2, None),
    "BHD": (3, None),
    "BRL": (2, "R$"),
    "CAD": (2, "CA$"),
    "CHF": (2, None),
    "CLP": (0, None),
    "CNY": (2, "CN¥"),
    "COP": (2, None),
    "CZK": (2, None),
    "DKK": (2, None),
    "EGP": (2, None),
    "EUR": (2, "€"),
    "GBP": (2, "£"),
    "HKD": (2, "HK$"),
    "HUF": (2, None),
    "IDR": (2, None),
    "ILS": (2, "₪"),
    "INR": (2, "₹"),
    "ISK": (0, None),
    "JOD": (3, None),
    "JPY": (0, "¥"),
    "KRW": (0, "₩"),
    "KWD": (3, None),
    "MXN": (2, "MX$"),
    "MYR": (2, None),
    "NGN": (2, None),
    "NOK": (2, None),
    "NZD": (2, "NZ$"),
    "OMR": (3, None),
    "PHP": (2, None),
    "PLN": (2, None),
    "RON": (2, None),
    "SAR": (2, None),
    "SEK": (2, None),
    "SGD": (2, None),
    "THB": (2, None),
    "TND": (3, None),
    "TRY": (2, None),
    "TWD": (2, None),
    "UAH": (2, None),
    "USD": (2, "$"),
    "VND": (0, None),
    "ZAR": (2, None),
}

_AMOUNT_RE = re.compile(r"^-?[0-9]+(\.[0-9]+)?\Z")  # ASCII digits: Decimal reads any script's


@dataclass(frozen=True, slots=True)
class Currency:
    """An ISO 4217 currency and the number of digits of its minor unit."""

    code: str
    digits: int
    symbol: str | None = None

    @property
    def scale(self) -> int:
        """How many minor units make one major unit (100 for EUR, 1 for JPY)."""
        return int(10**self.digits)

    def format(self, minor: int) -> str:
        """The plain decimal string of an amount: ``-7977.21``, ``8640``, ``1.500``."""
        sign = "-" if minor < 0 else ""
        whole, frac = divmod(abs(minor), self.scale)
        if self.digits == 0:
            return f"{sign}{whole}"
        return f"{sign}{whole}.{frac:0{self.digits}d}"

    def display(self, minor: int) -> str:
        """An amount as a person reads it on an invoice: ``€8,176.64``, ``CHF 1,000.00``."""
        sign = "−" if minor < 0 else ""
        whole, frac = divmod(abs(minor), self.scale)
        body = f"{whole:,}" if self.digits == 0 else f"{whole:,}.{frac:0{self.digits}d}"
        if self.symbol is not None:
            return f"{sign}{self.symbol}{body}"
        return f"{sign}{self.code} {body}"

    def parse(self, text: str) -> int:
        """A decimal string (``"108.00"``, ``"108"``) as minor units; refuses sub-minor digits."""
        return to_minor(text, self)


def currency(code: str) -> Currency:
    """The currency with this ISO 4217 code; :class:`InvalidAmount` for an unknown code."""
    entry = _CURRENCIES.get(code)
    if entry is None:
        raise InvalidAmount(f"unknown currency {code!r} (use an ISO 4217 code such as EUR or USD)")
    digits, symbol = entry
    return Currency(code, digits, symbol)


def known_currencies() -> tuple[str, ...]:
    """The ISO 4217 codes Seatwise bills in."""
    return tuple(sorted(_CURRENCIES))


def parse_decimal(text: str) -> Decimal:
    """A decimal string as an exact ``Decimal``; :class:`InvalidAmount` if it is not one."""
    cleaned = text.strip()
    if not _AMOUNT_RE.match(cleaned):
        raise InvalidAmount(f'{text!r} is not a decimal amount (write it like "108.00")')
    return Decimal(cleaned)


def to_minor(text: str, cur: Currency) -> int:
    """A decimal string in major units as an integer count of minor units, exactly."""
    value = parse_decimal(text)
    scaled = value * cur.scale
    if scaled != scaled.to_integral_value():
        raise InvalidAmount(
            f"{text!r} has more decimals than {cur.code} allows ({cur.digits})",
        )
    return int(scaled)


def round_half_up(value: Fraction) -> int:
    """The one rounding rule: an exact amount in minor units to the nearest integer, half-up.

    Half-up means away from zero at exactly one half, for credits as for debits, so that a
    credit line is always the mirror of the debit it cancels (−2.5 → −3, 2.5 → 3).
    """
    return round_ratio(value.numerator, value.denominator)


def round_ratio(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` (``denominator`` > 0) rounded half up, in integers: what
    :func:`round_half_up` does, without building a fraction (prorations, many per year)."""
    magnitude, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        magnitude += 1
    return -magnitude if numerator < 0 else magnitude
