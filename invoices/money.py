"""Money as a person reads it: grouped digits, the currency's own decimals (IDR has none)."""

from decimal import Decimal

from babel.core import get_global
from babel.numbers import format_currency, format_decimal, get_currency_symbol

LOCALE = "en"


def currency_digits(currency):
    """Decimals printed for `currency`: the fewer of its standard and cash digits (IDR 0, SGD 2)."""
    fractions = get_global("currency_fractions")
    digits, _, cash_digits, _ = fractions.get(currency, fractions["DEFAULT"])
    return min(digits, cash_digits)


def format_money(amount, currency, *, locale=LOCALE):
    if amount is None or amount == "":
        return ""
    digits = currency_digits(currency)
    number = "#,##0" + ("." + "0" * digits if digits else "")
    symbol = get_currency_symbol(currency, locale=locale)
    # "SGD 1,234.50" but "$1,234.50": a space only after a symbol made of letters.
    pattern = f"¤\u00a0{number}" if symbol[-1:].isalpha() else f"¤{number}"
    return format_currency(Decimal(amount), currency, format=pattern, locale=locale, currency_digits=False)


def format_amount(amount, currency, *, locale=LOCALE):
    """The number alone, with the currency's decimals, for tables whose column names the currency."""
    if amount is None or amount == "":
        return ""
    digits = currency_digits(currency)
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(Decimal(amount), format=pattern, locale=locale, decimal_quantization=True)
