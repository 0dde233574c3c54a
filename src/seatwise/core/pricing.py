"""The cost of N seats for one term, C(N): a flat price or a rate schedule (SPEC section 3).

``volume``: every seat at the price of the tier the count reaches.
``graduated``: each seat at the price of its own tier.
Every proration and ``delta`` line is computed from C(new) and C(old), never from a unit price,
so tiers and flat prices follow one rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from seatwise.core.money import Currency
from seatwise.core.records import quick_init


@dataclass(frozen=True, slots=True)
class Tier:
    """Seats from ``first`` upward cost ``price`` minor units each (until the next tier)."""

    first: int
    price: int


@quick_init
@dataclass(frozen=True, slots=True)
class Band:
    """A run of seats billed at one price: ``count`` × ``price``."""

    count: int
    price: int


@dataclass(frozen=True, slots=True)
class SeatPricing:
    """A flat ``price`` (one tier from 1) or ``tiers`` in ``volume`` or ``graduated`` mode."""

    tiers: tuple[Tier, ...]
    mode: str = "volume"

    @staticmethod
    def flat(price: int) -> SeatPricing:
        return SeatPricing((Tier(1, price),), "volume")

    @property
    def is_flat(self) -> bool:
        return len(self.tiers) == 1

    def bands(self, seats: int) -> list[Band]:
        """How ``seats`` seats are priced, as runs of seats at one price each."""
        if seats <= 0:
            return []
        if self.mode == "volume" or self.is_flat:
            return [Band(seats, self._tier_reached(seats).price)]
        bands: list[Band] = []
        for index, tier in enumerate(self.tiers):
            if seats < tier.first:
                break
            last = self.tiers[index + 1].first - 1 if index + 1 < len(self.tiers) else seats
            count = min(seats, last) - tier.first + 1
            bands.append(Band(count, tier.price))
        return bands

    def cost(self, seats: int) -> int:
        """C(N): the exact cost of ``seats`` seats for one whole term, in minor units."""
        return sum(band.count * band.price for band in self.bands(seats))

    def unit_price(self, seats: int) -> int | None:
        """The price of each of ``seats`` seats when they all cost the same, else ``None``."""
        prices = {band.price for band in self.bands(max(seats, 1))}
        return prices.pop() if len(prices) == 1 else None

    def cost_and_unit_price(self, seats: int) -> tuple[int, int | None]:
        """:meth:`cost` and :meth:`unit_price` of ``seats`` seats together; a flat price's
        without building its bands (a walk prices every new count of seats it reaches)."""
        if self.is_flat:
            price = self.tiers[0].price
            return (seats * price if seats > 0 else 0), price
        return self.cost(seats), self.unit_price(seats)

    def describe(self, seats: int, cur: Currency) -> str:
        """The rate of ``seats`` seats for a description: ``€108.00`` or ``50 × €10.00 + …``."""
        bands = self.bands(max(seats, 1))
        if len(bands) == 1:
            return cur.display(bands[0].price)
        return " + ".join(f"{band.count} × {cur.display(band.price)}" for band in bands)

    def _tier_reached(self, seats: int) -> Tier:
        reached = self.tiers[0]
        for tier in self.tiers:
            if seats >= tier.first:
                reached = tier
        return reached
