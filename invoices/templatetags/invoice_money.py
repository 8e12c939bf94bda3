from django import template

from ..money import format_amount, format_money

register = template.Library()


@register.filter
def money(amount, currency):
    """{{ invoice.total|money:invoice.currency }} → "SGD 1,234.50", "IDR 1,500,000"."""
    return format_money(amount, currency)


@register.filter
def amount(value, currency):
    """{{ line.unit_price|amount:invoice.currency }} → "1,234.50" (no symbol)."""
    return format_amount(value, currency)
