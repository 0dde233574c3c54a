from fractions import Fraction

import pytest

from seatwise.core.errors import InvalidAmount
from seatwise.core.money import currency, round_half_up, to_minor


def test_half_up_rounds_halves_away_from_zero() -> None:
    assert round_half_up(Fraction(5, 2)) == 3
    assert round_half_up(Fraction(-5, 2)) == -3
    assert round_half_up(Fraction(7, 3)) == 2
    assert round_half_up(Fraction(-7, 3)) == -2
    assert round_half_up(Fraction(249999, 100000)) == 2
    assert round_half_up(Fraction(0)) == 0


def test_spec_5_example_amounts() -> None:
    assert round_half_up(Fraction(82 * 10800 * 337, 365)) == 817664
    assert -round_half_up(Fraction(80 * 10800 * 337, 365)) == -797721


def test_minor_units_per_currency() -> None:
    assert to_minor("108.00", currency("EUR")) == 10800
    assert to_minor("108", currency("USD")) == 10800
    assert to_minor("1000", currency("JPY")) == 1000
    assert to_minor("1.234", currency("KWD")) == 1234


def test_more_decimals_than_the_currency_allows_is_refused() -> None:
    with pytest.raises(InvalidAmount, match="more decimals than JPY"):
        to_minor("10.5", currency("JPY"))
    with pytest.raises(InvalidAmount, match="not a decimal amount"):
        to_minor("1e3", currency("EUR"))
    with pytest.raises(InvalidAmount, match="not a decimal amount"):
        to_minor("12,50", currency("EUR"))


@pytest.mark.parametrize("text", ["١٠.٠٠", "１０.００", "१०", "10.٠٠"])
def test_an_amount_in_digits_other_than_ascii_is_refused(text: str) -> None:
    """Python's Decimal reads any script's digits; an amount is written in 0-9 only."""
    with pytest.raises(InvalidAmount, match="not a decimal amount"):
        to_minor(text, currency("USD"))


def test_unknown_currency() -> None:
    with pytest.raises(InvalidAmount, match="unknown currency 'EURO'"):
        currency("EURO")


def test_formatting() -> None:
    eur, jpy, chf = currency("EUR"), currency("JPY"), currency("CHF")
    assert eur.format(-797721) == "-7977.21"
    assert eur.format(5) == "0.05"
    assert jpy.format(2005) == "2005"
    assert eur.display(817664) == "€8,176.64"
    assert eur.display(-200) == "−€2.00"
    assert chf.display(100000) == "CHF 1,000.00"
    assert jpy.display(1000) == "¥1,000"
