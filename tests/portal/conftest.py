"""Portal fixtures: a customer with a contact and invoices, another customer that must stay out of reach."""

import datetime as dt
from decimal import Decimal

import pytest

from customers.models import Contact, Customer
from invoices.models import (
    CreditNote,
    CreditNoteStatus,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    Payment,
    PaymentAllocation,
)
from peakflo.models import Company
from portal import access
from portal.links import make_link
from portal.models import LinkPurpose


def make_invoice(customer, number, *, days_overdue, total="100.00", paid="0.00", status=InvoiceStatus.OPEN):
    today = Company.load().today()
    due = today - dt.timedelta(days=days_overdue)
    total, paid = Decimal(total), Decimal(paid)
    invoice = Invoice.objects.create(
        number=number,
        customer=customer,
        currency=customer.currency,
        issue_date=due - dt.timedelta(days=30),
        due_date=due,
        subtotal=total,
        total=total,
        amount_paid=paid,
        amount_due=total - paid,
        status=status,
    )
    InvoiceLine.objects.create(
        invoice=invoice, description=f"Services for {number}", unit_price=total, amount=total
    )
    return invoice


@pytest.fixture
def portal_book(db, am_alice, am_bob):
    """Acme (Alice's, SGD) with Ann as contact; Globex (Bob's) with its own invoice, payment and credit note."""
    return build_portal_book(am_alice, am_bob)


def build_portal_book(am_alice, am_bob):
    acme = Customer.objects.create(
        code="P-001", name="Acme Pte Ltd", currency="SGD", account_manager=am_alice
    )
    globex = Customer.objects.create(code="P-002", name="Globex", currency="USD", account_manager=am_bob)
    ann = Contact.objects.create(customer=acme, name="Ann Acme", email="ann@acme.test", is_main=True)
    gus = Contact.objects.create(customer=globex, name="Gus Globex", email="gus@globex.test", is_main=True)
    invoices = {
        "current": make_invoice(acme, "A-100", days_overdue=-5, total="100.00"),
        "d15": make_invoice(acme, "A-101", days_overdue=15, total="200.00"),
        "d45": make_invoice(acme, "A-102", days_overdue=45, total="300.00", paid="50.00"),
        "d75": make_invoice(acme, "A-103", days_overdue=75, total="400.00"),
        "d120": make_invoice(acme, "A-104", days_overdue=120, total="500.00"),
        "paid": make_invoice(
            acme, "A-105", days_overdue=60, total="70.00", paid="70.00", status=InvoiceStatus.PAID
        ),
    }
    payment = Payment.objects.create(
        customer=acme,
        date=Company.load().today(),
        amount=Decimal("120.00"),
        currency="SGD",
        reference="ACME-TT-1",
    )
    PaymentAllocation.objects.create(payment=payment, invoice=invoices["d45"], amount=Decimal("50.00"))
    PaymentAllocation.objects.create(payment=payment, invoice=invoices["paid"], amount=Decimal("70.00"))
    other_invoice = make_invoice(globex, "G-900", days_overdue=10, total="999.00")
    other_payment = Payment.objects.create(
        customer=globex, date=Company.load().today(), amount=Decimal("5.00"), currency="USD"
    )
    other_note = CreditNote.objects.create(
        number="CN-G-1",
        customer=globex,
        invoice=other_invoice,
        date=Company.load().today(),
        amount=Decimal("9.00"),
        currency="USD",
        status=CreditNoteStatus.APPROVED,
    )
    return {
        "acme": acme,
        "globex": globex,
        "ann": ann,
        "gus": gus,
        "invoices": invoices,
        "payment": payment,
        "other_invoice": other_invoice,
        "other_payment": other_payment,
        "other_note": other_note,
    }


def sign_in_client(client, contact):
    """Sign `contact` in the way a customer does: open a sign-in link and press the button."""
    url = make_link(customer=contact.customer, contact=contact, purpose=LinkPurpose.SIGN_IN)
    path = url.split("://", 1)[-1].split("/", 1)[1]
    response = client.post("/" + path)
    assert response.status_code == 302, response.content[:500]
    return client


@pytest.fixture
def ann_client(client, portal_book):
    return sign_in_client(client, portal_book["ann"])


__all__ = ["access", "make_invoice", "sign_in_client"]
