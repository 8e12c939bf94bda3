"""Writes on customers that record the timeline."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from . import timeline
from .models import ActivityKind, Customer


@transaction.atomic
def record_promise_to_pay(*, customer, amount, date, actor=None, at=None):
    """The customer promised to pay `amount` by `date`; `actor` is the user or contact who took it."""
    amount = Decimal(amount)
    if amount <= 0:
        raise ValidationError({"promise_amount": "A promise to pay must be more than zero."})
    Customer.objects.filter(pk=customer.pk).update(promise_amount=amount, promise_date=date)
    customer.promise_amount, customer.promise_date = amount, date
    timeline.record(
        customer,
        ActivityKind.PROMISE_TO_PAY,
        actor=actor,
        data={"amount": str(amount), "currency": customer.currency, "date": date.isoformat()},
        at=at,
    )
    return customer
