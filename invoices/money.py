"""Money as a person reads it: grouped digits, the currency's own decimals (IDR has none).

Babel parses a locale and a number pattern every time `format_currency` is called; a reminder
formats several amounts, and dispatch sends hundreds of reminders a second, so the parsed
locale and each currency's parsed pattern are kept (a handful of objects, never invalidated:
they depend only on babel's data).
"""

from decimal import Decimal
from functools import cache, lru_cache

from babel import Locale
from babel.core import get_global
from babel.numbers import get_currency_symbol, parse_pattern

LOCALE = "en"


@cache
def _locale(name):
    return Locale.parse(name)


@cache
def currency_digits(currency):
    """Decimals printed for `currency`: the fewer of its standard and cash digits (IDR 0, SGD 2)."""
    fractions = get_global("currency_fractions")
    digits, _, cash_digits, _ = fractions.get(currency, fractions["DEFAULT"])
    return min(digits, cash_digits)


def _number_pattern(currency):
    digits = currency_digits(currency)
    return "#,##0" + ("." + "0" * digits if digits else "")


@cache
def _money_pattern(currency, locale):
    symbol = get_currency_symbol(currency, locale=locale)
    # "SGD 1,234.50" but "$1,234.50": a space only after a symbol made of letters.
    separator = "\u00a0" if symbol[-1:].isalpha() else ""
    return parse_pattern(f"¤{separator}{_number_pattern(currency)}")


@cache
def _amount_pattern(currency):
    return parse_pattern(_number_pattern(currency))


@lru_cache(maxsize=8192)
def _format_money(amount, signed, currency, locale):
    return _money_pattern(currency, locale).apply(
        amount, _locale(locale), currency=currency, currency_digits=False
    )


def format_money(amount, currency, *, locale=LOCALE):
    """ "SGD 1,234.50", "$1,234.50", "IDR 1,235": the amount rounded to the currency's decimals."""
    if amount is None or amount == "":
        return ""
    amount = Decimal(amount)
    # Equal Decimals (120, 120.00) print the same and share an entry; 0 and -0 are equal but do not.
    return _format_money(amount, amount.is_signed(), currency, locale)


def format_amount(amount, currency, *, locale=LOCALE):
    """The number alone, with the currency's decimals, for tables whose column names the currency."""
    if amount is None or amount == "":
        return ""
    return _amount_pattern(currency).apply(Decimal(amount), _locale(locale), decimal_quantization=True)
