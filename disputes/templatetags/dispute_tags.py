"""What the invoice and customer pages show of disputes: their pages own the view, we add the alert.

The caller has already checked the invoice or customer is visible to the user."""

from django import template

from ..forms import RaiseDisputeForm
from ..selectors import open_dispute_of, open_disputes_of

register = template.Library()


@register.simple_tag
def open_dispute_for_invoice(invoice):
    return open_dispute_of(invoice)


@register.simple_tag
def open_disputes_for_customer(customer):
    return list(open_disputes_of(customer)[:6])  # five shown, and a link when there are more


@register.simple_tag
def raise_dispute_form():
    return RaiseDisputeForm()
