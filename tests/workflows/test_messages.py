import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings

from customers.models import Contact
from invoices.models import Invoice
from invoices.money import format_money
from peakflo.models import Company
from workflows.messages import (
    fill,
    message_values,
    message_values_pair,
    message_values_text,
    sample_values,
    values_for,
)
from workflows.templating import PLACEHOLDERS, TemplateError, render

TODAY = dt.date(2026, 12, 11)


@pytest.fixture
def company(db):
    company = Company.load()
    company.name = "Peakflo Demo"
    company.save()
    return company


@pytest.fixture
def two_invoices(book):
    acme = book["acme"]
    older = book["invoices"][0]
    older.due_date, older.issue_date = dt.date(2026, 12, 1), dt.date(2026, 11, 1)
    older.save()
    newer = Invoice.objects.create(
        number="INV-<b>9</b>",
        customer=acme,
        currency="SGD",
        issue_date=dt.date(2026, 12, 5),
        due_date=dt.date(2026, 12, 20),
        subtotal=Decimal("1234.00"),
        total=Decimal("1234.00"),
        amount_due=Decimal("1234.00"),
    )
    return [newer, older]


def _plain(value):
    return isinstance(value, str | int) and not isinstance(value, bool)


def test_every_placeholder_has_a_plain_value(company, book, two_invoices):
    values = message_values(customer=book["acme"], invoices=two_invoices, company=company, today=TODAY)

    assert values.keys() == PLACEHOLDERS.keys()
    assert all(_plain(value) for value in values.values())


def test_the_oldest_due_invoice_carries_the_message(company, book, two_invoices):
    contact = Contact.objects.get(customer=book["acme"])
    values = message_values(
        customer=book["acme"], invoices=two_invoices, contact=contact, company=company, today=TODAY
    )

    assert values["recipientName"] == "Ann Acme"
    assert values["customerName"] == "Acme Pte Ltd"
    assert values["customerId"] == "C-001"
    assert values["invoiceNumber"] == "INV-0001"
    assert values["invoiceDueDate"] == "1 Dec 2026"
    assert values["invoiceIssueDate"] == "1 Nov 2026"
    assert values["invoiceDaysOverdue"] == 10
    assert values["invoiceAmountDue"] == "SGD\xa0109.00"
    assert values["totalAmountDue"] == "SGD\xa01,343.00"
    assert values["accountManagerName"] == "Alice"
    assert values["accountManagerEmail"] == "alice@example.com"
    assert values["companyName"] == "Peakflo Demo"
    assert values["customerPortalLink"] == f"{settings.SITE_URL}/portal/"


def test_recipient_is_the_customer_without_a_contact_and_portal_link_is_passed_through(company, book):
    values = message_values(
        customer=book["globex"],
        invoices=[book["invoices"][1]],
        company=company,
        today=TODAY,
        portal_link="https://pay.example.com/p/abc",
    )

    assert values["recipientName"] == "Globex"
    assert values["customerPortalLink"] == "https://pay.example.com/p/abc"
    assert values["invoiceCurrency"] == "USD"


def test_html_table_lists_every_invoice_escaped(company, book, two_invoices):
    table = message_values(customer=book["acme"], invoices=two_invoices, company=company, today=TODAY)[
        "table_outstanding_invoices"
    ]

    assert table.startswith("<table")
    assert "INV-&lt;b&gt;9&lt;/b&gt;" in table and "<b>9</b>" not in table
    assert table.index("INV-0001") < table.index("INV-&lt;b&gt;9")
    assert "20 Dec 2026" in table and "SGD\xa01,234.00" in table


def test_text_table_is_one_line_per_invoice(company, book, two_invoices):
    values = message_values_text(customer=book["acme"], invoices=two_invoices, company=company, today=TODAY)

    assert values["table_outstanding_invoices"].splitlines() == [
        "INV-0001 · due 1 Dec 2026 · SGD\xa0109.00 · 10 days overdue",
        "INV-<b>9</b> · due 20 Dec 2026 · SGD\xa01,234.00",
    ]


def test_values_for_picks_html_for_email_only(company, book, two_invoices):
    keywords = dict(customer=book["acme"], invoices=two_invoices, company=company, today=TODAY)

    assert values_for("email", **keywords)["table_outstanding_invoices"].startswith("<table")
    assert values_for("whatsapp", **keywords)["table_outstanding_invoices"].startswith("INV-0001 ·")


def test_no_manager_signs_as_the_company(company, book):
    values = message_values(customer=book["orphan"], invoices=[], company=company, today=TODAY)

    assert values["accountManagerName"] == "Peakflo Demo Accounts Receivable"
    assert values["invoiceNumber"] == ""
    assert values["totalAmountDue"] == "SGD\xa00.00"


def test_sample_values_render_every_placeholder(company):
    text = " ".join("{{ " + name + " }}" for name in PLACEHOLDERS)

    html = render(text, sample_values(company), html=True)
    plain = render(text, sample_values(company, html=False))

    assert "Priya Raman" in html and "<table" in html
    assert "INV-2026-0187 · due" in plain and "<table" not in plain
    assert all(_plain(value) for value in sample_values(company).values())


def test_the_pair_of_values_for_an_email_is_the_text_and_html_values(company, book, two_invoices):
    keywords = dict(customer=book["acme"], invoices=two_invoices, company=company, today=TODAY)

    text, html = message_values_pair(**keywords)

    assert text == message_values_text(**keywords)
    assert html == message_values(**keywords)


@pytest.mark.parametrize(
    "template",
    [
        "Dear {{ recipientName }},\n{{table_outstanding_invoices}}\nIn all: {{ totalAmountDue }} & <thanks>",
        "{{ invoiceNumber }}{{ invoiceNumber }}",
        "No placeholder at all.\n",
        "",
        "{{ customerName }} — {{ invoiceDaysOverdue }} days",
    ],
)
def test_fill_writes_what_render_writes(company, book, two_invoices, template):
    values = message_values(customer=book["acme"], invoices=two_invoices, company=company, today=TODAY)
    values["customerName"] = "Acme <script> & Co"  # escaped in HTML, as render escapes it
    values["promiseDate"] = None

    for _ in range(2):  # the second time from the split kept for the template
        assert fill(template, values) == render(template, values)
        assert fill(template, values, html=True) == render(template, values, html=True)


def test_fill_refuses_an_unknown_placeholder_every_time(company):
    for _ in range(2):
        with pytest.raises(TemplateError, match="invoice_number"):
            fill("Pay {{ invoice_number }}", {})


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (Decimal("1234.5"), "SGD", "SGD\xa01,234.50"),
        (Decimal("1234.5"), "USD", "$1,234.50"),
        (Decimal("1234.6"), "IDR", "IDR\xa01,235"),  # no decimals in rupiah
        (Decimal("-0.00"), "SGD", "-SGD\xa00.00"),
        (Decimal("0"), "SGD", "SGD\xa00.00"),  # equal to -0.00, printed apart
        ("99.995", "SGD", "SGD\xa0100.00"),
        (7, "THB", "THB\xa07.00"),
    ],
)
def test_money_reads_the_same_every_time(amount, currency, expected):
    assert format_money(amount, currency) == expected
    assert format_money(amount, currency) == expected  # and from what was kept of the first time
    assert format_money(None, currency) == ""
