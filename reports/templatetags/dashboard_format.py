"""Figures as the dashboard prints them: whole money in the base currency, days, percentages."""

from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency, format_decimal
from django import template

register = template.Library()


@register.filter
def whole_money(amount, currency):
    """{{ amount|whole_money:"SGD" }} → "SGD 1,234,568": cards show whole units of the base currency."""
    if amount is None:
        return "—"
    whole = Decimal(amount).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return format_currency(whole, currency, format="¤\u00a0#,##0", locale="en", currency_digits=False)


@register.filter
def compact_money(amount):
    """Axis labels: 1,250,000 → "1.25M", 8,400 → "8.4k"."""
    value = Decimal(amount or 0)
    for limit, suffix in ((Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"), (Decimal(10) ** 3, "k")):
        if abs(value) >= limit:
            return f"{(value / limit).quantize(Decimal('0.01')).normalize():f}{suffix}"
    return f"{value.quantize(Decimal(1)):f}"


@register.filter
def one_decimal(value):
    """A figure with one decimal, or a dash when there is none to show."""
    if value is None:
        return "—"
    return format_decimal(
        Decimal(value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP), format="#,##0.0", locale="en"
    )
