"""How the vendor presents itself on invoices, receipts, emails and the billing page, by
configuration (environment variables):

| variable | meaning | default |
|---|---|---|
| ``SEATWISE_VENDOR_NAME`` | the vendor's name | ``Seatwise`` |
| ``SEATWISE_VENDOR_ADDRESS`` | its address, lines separated by ``|`` | none |
| ``SEATWISE_VENDOR_LOGO`` | a PNG, JPEG or SVG file | none |
| ``SEATWISE_ACCENT_COLOR`` | ``#RRGGBB`` | ``#1d4ed8`` |
| ``SEATWISE_SUPPORT_EMAIL`` | where customers ask | none |
| ``SEATWISE_PAYMENT_INSTRUCTIONS`` | how to pay an invoice sent by transfer | a sentence |
| ``SEATWISE_LOCALE`` | how money and dates are written (Babel) | ``en_US`` |
| ``SEATWISE_PUBLIC_URL`` | where ``seatwise serve`` is reached, for links | the request's |
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency

from seatwise.core.errors import FieldError
from seatwise.core.money import Currency

_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}\Z")


@dataclass(frozen=True)
class Branding:
    name: str = "Seatwise"
    address: tuple[str, ...] = ()
    logo: Path | None = None
    accent: str = "#1d4ed8"
    support_email: str | None = None
    payment_instructions: str = (
        "Please pay by bank transfer by the due date, quoting the invoice number."
    )
    locale: str = "en_US"
    public_url: str | None = None  # None: links name the address a request came to

    @staticmethod
    def from_environment(env: Mapping[str, str] = os.environ) -> Branding:
        """The branding the environment configures; :class:`FieldError` for a value that
        cannot work (a colour that is not ``#RRGGBB``, a logo that is not a file, an unknown
        locale)."""
        accent = env.get("SEATWISE_ACCENT_COLOR", Branding.accent)
        if not _COLOR.match(accent):
            raise FieldError("SEATWISE_ACCENT_COLOR", f"{accent!r} is not a colour like #1d4ed8")
        logo = env.get("SEATWISE_VENDOR_LOGO") or None
        if logo is not None and not Path(logo).is_file():
            raise FieldError("SEATWISE_VENDOR_LOGO", f"{logo!r} is not a file")
        locale = env.get("SEATWISE_LOCALE", Branding.locale)
        try:
            Locale.parse(locale)
        except (UnknownLocaleError, ValueError):
            raise FieldError("SEATWISE_LOCALE", f"{locale!r} is not a locale like en_US") from None
        public_url = (env.get("SEATWISE_PUBLIC_URL") or "").rstrip("/") or None
        if public_url is not None and not re.match(r"^https?://[^\s/?#]+", public_url):
            raise FieldError("SEATWISE_PUBLIC_URL", f"{public_url!r} is not an http(s) URL")
        address = tuple(
            part.strip()
            for part in env.get("SEATWISE_VENDOR_ADDRESS", "").split("|")
            if part.strip()
        )
        return Branding(
            name=env.get("SEATWISE_VENDOR_NAME", Branding.name),
            address=address,
            logo=None if logo is None else Path(logo).resolve(),
            accent=accent,
            support_email=env.get("SEATWISE_SUPPORT_EMAIL") or None,
            payment_instructions=env.get(
                "SEATWISE_PAYMENT_INSTRUCTIONS", Branding.payment_instructions
            ),
            locale=locale,
            public_url=public_url,
        )

    @property
    def accent_text(self) -> str:
        """Black or white, whichever reads better on the accent colour (WCAG contrast)."""
        red, green, blue = (int(self.accent[i : i + 2], 16) / 255 for i in (1, 3, 5))

        def linear(channel: float) -> float:
            return channel / 12.92 if channel <= 0.03928 else ((channel + 0.055) / 1.055) ** 2.4

        luminance = 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)
        return "#000000" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "#ffffff"

    def money(self, cur: Currency, minor: int) -> str:
        """An amount as this locale writes it: ``€1,200.00``, ``¥1,200``, ``1.200,00 €``."""
        amount = Decimal(minor).scaleb(-cur.digits)
        return str(format_currency(amount, cur.code, locale=self.locale))

    def money_by_code(self, cur: Currency, minor: int) -> str:
        """An amount with its currency's ISO code: ``CNY 1,200.00``, ``JPY 14.400``."""
        amount = Decimal(minor).scaleb(-cur.digits)
        digits = "#,##0" + ("." + "0" * cur.digits if cur.digits else "")
        pattern = f"¤¤\u00a0{digits}"
        return str(format_currency(amount, cur.code, format=pattern, locale=self.locale))

    def day(self, value: date) -> str:
        """A date as this locale writes it: ``Dec 1, 2026``."""
        return str(format_date(value, format="medium", locale=self.locale))
