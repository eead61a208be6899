"""Stripe minor units to Decimal, per currency, against absolute values."""

from __future__ import annotations

from decimal import Decimal

import pytest

from airflow_provider_stripe_sync.stripe.money import (
    UnknownCurrencyError,
    currency_exponent,
    from_minor_units,
    round_line,
)


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (5000, "jpy", Decimal("5000")),
        (5000, "JPY", Decimal("5000")),
        (1, "krw", Decimal("1")),
        (5000, "usd", Decimal("50.00")),
        (1999, "eur", Decimal("19.99")),
        (-250, "gbp", Decimal("-2.50")),
        (5, "usd", Decimal("0.05")),
        (5000, "kwd", Decimal("5.000")),
        (1235, "bhd", Decimal("1.235")),
        (-7, "jod", Decimal("-0.007")),
        (100, "isk", Decimal("1.00")),
        (0, "usd", Decimal("0.00")),
    ],
)
def test_amounts_convert_to_absolute_values(amount, currency, expected):
    converted = from_minor_units(amount, currency)
    assert converted == expected
    assert str(converted) == str(expected)


@pytest.mark.parametrize(("currency", "exponent"), [("jpy", 0), ("usd", 2), ("eur", 2), ("kwd", 3)])
def test_exponents(currency, exponent):
    assert currency_exponent(currency) == exponent


@pytest.mark.parametrize("currency", ["xyz", "", "btc"])
def test_an_unknown_currency_is_an_error(currency):
    with pytest.raises(UnknownCurrencyError, match="Unknown currency"):
        from_minor_units(100, currency)


@pytest.mark.parametrize("amount", [50.0, "5000", True])
def test_only_integers_are_amounts(amount):
    with pytest.raises(TypeError):
        from_minor_units(amount, "usd")


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("1.235", "1.24"), ("1.234", "1.23"), ("-1.235", "-1.24"), ("5000", "5000.00"), ("0.005", "0.01")],
)
def test_lines_round_half_up_to_two_places(amount, expected):
    assert str(round_line(Decimal(amount))) == expected
