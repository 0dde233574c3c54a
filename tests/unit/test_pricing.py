from hypothesis import given
from hypothesis import strategies as st

from seatwise.core.money import currency
from seatwise.core.pricing import SeatPricing, Tier

VOLUME = SeatPricing((Tier(1, 1000), Tier(10, 900), Tier(100, 800)), "volume")
GRADUATED = SeatPricing((Tier(1, 1000), Tier(10, 900), Tier(100, 800)), "graduated")


def test_flat_price() -> None:
    flat = SeatPricing.flat(10800)
    assert flat.cost(82) == 82 * 10800
    assert flat.unit_price(82) == 10800
    assert flat.cost(0) == 0


def test_volume_prices_every_seat_at_the_tier_reached() -> None:
    assert VOLUME.cost(9) == 9 * 1000
    assert VOLUME.cost(10) == 10 * 900
    assert VOLUME.cost(150) == 150 * 800
    assert VOLUME.unit_price(150) == 800


def test_graduated_prices_each_seat_in_its_own_tier() -> None:
    assert GRADUATED.cost(9) == 9 * 1000
    assert GRADUATED.cost(10) == 9 * 1000 + 900
    assert GRADUATED.cost(150) == 9 * 1000 + 90 * 900 + 51 * 800
    assert GRADUATED.unit_price(150) is None
    assert GRADUATED.unit_price(5) == 1000
    usd = currency("USD")
    assert GRADUATED.describe(12, usd) == "9 × $10.00 + 3 × $9.00"


@given(
    pricing=st.sampled_from([SeatPricing.flat(10800), SeatPricing.flat(0), VOLUME, GRADUATED]),
    seats=st.integers(min_value=-2, max_value=500),
)
def test_cost_and_unit_price_together_are_each_alone(pricing: SeatPricing, seats: int) -> None:
    assert pricing.cost_and_unit_price(seats) == (pricing.cost(seats), pricing.unit_price(seats))


def test_a_flat_price_together() -> None:
    flat = SeatPricing.flat(10800)
    assert flat.cost_and_unit_price(82) == (885600, 10800)
    assert flat.cost_and_unit_price(0) == (0, 10800)
