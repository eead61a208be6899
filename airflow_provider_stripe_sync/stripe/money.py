"""
Money: Stripe's integer minor units as ``Decimal`` by Stripe's own currency rules.

Stripe sends every amount as an integer count of the currency's smallest unit: JPY 5000 is 5000
yen, USD 5000 is 50.00 dollars, KWD 5000 is 5.000 dinars. The exponent comes from Stripe's list of
zero- and three-decimal currencies, not from ISO 4217: Stripe sends ISK with two decimals, for one.
A currency this module does not know is an error, never a guess.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

#: Currencies Stripe sends without minor units.
ZERO_DECIMAL_CURRENCIES = frozenset("bif clp djf gnf jpy kmf krw mga pyg rwf ugx vnd vuv xaf xof xpf".split())

#: Currencies Stripe sends with three decimals.
THREE_DECIMAL_CURRENCIES = frozenset("bhd jod kwd omr tnd".split())

#: Currencies Stripe sends with two decimals (ISK, HUF and TWD included, as Stripe sends them).
TWO_DECIMAL_CURRENCIES = frozenset(
    """
    usd aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bmd bnd bob brl bsd bwp byn bzd cad
    cdf chf cny cop crc cve czk dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gtq gyd hkd hnl htg
    huf idr ils inr isk jmd kes kgs khr kyd kzt lak lbp lkr lrd lsl mad mdl mkd mmk mnt mop mur mvr
    mwk mxn myr mzn nad ngn nio nok npr nzd pab pen pgk php pkr pln qar ron rsd rub sar sbd scr sek
    sgd shp sle sll sos srd std szl thb tjs top try ttd twd tzs uah uyu uzs wst xcd yer zar zmw
    """.split()
)

#: Xero's line amounts have two decimals.
TWO_PLACES = Decimal("0.01")


class UnknownCurrencyError(ValueError):
    """A currency code Stripe's rules (as this module knows them) do not cover."""


def currency_exponent(currency: str) -> int:
    """
    Return how many decimals Stripe's minor units of ``currency`` carry: 0, 2 or 3.

    :raises UnknownCurrencyError: for a code that is not a Stripe currency.
    """
    code = str(currency or "").strip().lower()
    if code in ZERO_DECIMAL_CURRENCIES:
        return 0
    if code in THREE_DECIMAL_CURRENCIES:
        return 3
    if code in TWO_DECIMAL_CURRENCIES:
        return 2
    raise UnknownCurrencyError(f"Unknown currency {currency!r}: not one Stripe settles or charges in.")


def from_minor_units(amount: int, currency: str) -> Decimal:
    """
    Return a Stripe amount as a ``Decimal`` in major units, exactly: ``(5000, "usd")`` is ``50.00``.

    :raises TypeError: when ``amount`` is not an integer (a float has lost precision already).
    :raises UnknownCurrencyError: for an unknown currency.
    """
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"Stripe amounts are integers of minor units, got {amount!r}.")
    exponent = currency_exponent(currency)
    return Decimal(amount).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))


def round_line(amount: Decimal) -> Decimal:
    """Round one line amount to two places, half up (a KWD 1.235 line is 1.24)."""
    return amount.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)
