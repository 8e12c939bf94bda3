"""The plain values a reminder template is filled with, one dict per message.

    message_values(*, customer, invoices, contact=None, company, today, portal_link=None)
        -> {name: str | int} for every name in templating.PLACEHOLDERS, for HTML channels (email):
           `table_outstanding_invoices` is an HTML table whose every value is escaped.
    message_values_text(...same keywords...)
        -> the same dict for plain-text channels (SMS, WhatsApp, LINE, webhook):
           `table_outstanding_invoices` is one line per invoice,
           "INV-1 · due 1 Dec 2026 · SGD 1,234.00".
    message_values_pair(...same keywords...)
        -> (text values, HTML values): both at once, sharing every value but the table (dispatch
           renders an email's text and HTML parts from them).
    values_for(action_type, **keywords)
        -> picks one of the two by the action type (only email is HTML).
    sample_values(company, *, html=True, today=None)
        -> believable values for previews, built without a database row.

`invoices` are the invoices one message covers; the oldest due carries `invoiceNumber` and the
other single-invoice values. Values are strings and ints only, never model objects, so a template
cannot reach anything else (see templating.py). Render with `templating.render(text, values, html=)`,
or with `fill(text, values, html=)` — the same result, each template split and checked only once,
for dispatch, which fills one action's template for hundreds of customers.
"""

import datetime as dt
from decimal import Decimal
from functools import lru_cache
from html import escape
from types import SimpleNamespace

from django.conf import settings

from invoices.money import format_money

from .models import ActionType
from .templating import PLACEHOLDER, check

HTML_ACTION_TYPES = frozenset({ActionType.EMAIL, ActionType.INTERNAL_EMAIL})
PORTAL_LINK = "customerPortalLink"  # the placeholder whose value is a sign-in link made per message


@lru_cache(maxsize=4096)
def _format_day(day):
    return f"{day.day} {day:%b %Y}"


def format_date(day):
    """A date as people write it: "1 Dec 2026"."""
    return _format_day(day) if day else ""


def days_overdue(invoice, today):
    return max(0, (today - invoice.due_date).days)


def _oldest_first(invoices):
    return sorted(invoices, key=lambda invoice: (invoice.due_date, invoice.number))


def _total_due(invoices, fallback_currency):
    """Everything due, per currency: "SGD 1,200.00" or "SGD 1,200.00 + USD 300.00"."""
    totals = {}
    for invoice in invoices:
        totals[invoice.currency] = totals.get(invoice.currency, Decimal(0)) + invoice.amount_due
    if not totals:
        return format_money(Decimal(0), fallback_currency)
    return " + ".join(format_money(amount, currency) for currency, amount in totals.items())


def html_table(invoices, today):
    head = "".join(
        f'<th style="text-align:{align};padding:4px 8px;border-bottom:1px solid #cbd5e1;white-space:nowrap">{label}</th>'
        for label, align in [
            ("Invoice", "left"),
            ("Issue date", "left"),
            ("Due date", "left"),
            ("Days overdue", "right"),
            ("Amount due", "right"),
        ]
    )
    cell = "padding:4px 8px;border-bottom:1px solid #e2e8f0;white-space:nowrap"
    rows = "".join(
        "<tr>"
        f'<td style="{cell}">{escape(invoice.number)}</td>'
        f'<td style="{cell}">{escape(format_date(invoice.issue_date))}</td>'
        f'<td style="{cell}">{escape(format_date(invoice.due_date))}</td>'
        f'<td style="{cell};text-align:right">{days_overdue(invoice, today)}</td>'
        f'<td style="{cell};text-align:right">{escape(format_money(invoice.amount_due, invoice.currency))}</td>'
        "</tr>"
        for invoice in invoices
    )
    return (
        '<table style="border-collapse:collapse;font-size:14px">'
        f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    )


def text_table(invoices, today):
    lines = []
    for invoice in invoices:
        line = (
            f"{invoice.number} · due {format_date(invoice.due_date)} · "
            f"{format_money(invoice.amount_due, invoice.currency)}"
        )
        overdue = days_overdue(invoice, today)
        lines.append(f"{line} · {overdue} days overdue" if overdue else line)
    return "\n".join(lines)


def _shared_values(*, customer, invoices, contact, company, today, portal_link):
    """Every value but the invoice table; `invoices` oldest due first."""
    first = invoices[0] if invoices else None
    manager = customer.account_manager
    money = customer.currency
    return {
        "recipientName": (contact.name if contact and contact.name else customer.name),
        "customerName": customer.name,
        "customerId": customer.code,
        "invoiceNumber": first.number if first else "",
        "invoiceAmountDue": format_money(first.amount_due, first.currency) if first else "",
        "invoiceTotal": format_money(first.total, first.currency) if first else "",
        "invoiceCurrency": first.currency if first else money,
        "invoiceIssueDate": format_date(first.issue_date) if first else "",
        "invoiceDueDate": format_date(first.due_date) if first else "",
        "invoiceDaysOverdue": days_overdue(first, today) if first else 0,
        "totalAmountDue": _total_due(invoices, money),
        "table_outstanding_invoices": "",
        # Without an account manager the message is signed by the company's receivables team.
        "accountManagerName": manager.get_full_name() if manager else f"{company.name} Accounts Receivable",
        "accountManagerEmail": manager.email if manager else (company.sender_email or ""),
        "companyName": company.name,
        "customerPortalLink": portal_link or f"{settings.SITE_URL}/portal/",
        "promiseDate": format_date(customer.promise_date),
        "promiseAmount": format_money(customer.promise_amount, money) if customer.promise_amount else "",
    }


def message_values(*, customer, invoices, contact=None, company, today, portal_link=None):
    """Values for an HTML message (email): the invoice table is HTML, every value in it escaped."""
    invoices = _oldest_first(invoices)
    values = _shared_values(
        customer=customer,
        invoices=invoices,
        contact=contact,
        company=company,
        today=today,
        portal_link=portal_link,
    )
    values["table_outstanding_invoices"] = html_table(invoices, today)
    return values


def message_values_text(*, customer, invoices, contact=None, company, today, portal_link=None):
    """Values for a plain-text message (SMS, WhatsApp, LINE): the invoice table is lines of text."""
    invoices = _oldest_first(invoices)
    values = _shared_values(
        customer=customer,
        invoices=invoices,
        contact=contact,
        company=company,
        today=today,
        portal_link=portal_link,
    )
    values["table_outstanding_invoices"] = text_table(invoices, today)
    return values


def message_values_pair(*, customer, invoices, contact=None, company, today, portal_link=None):
    """(text values, HTML values) for an email, which sends both parts: shared values computed once."""
    invoices = _oldest_first(invoices)
    text = _shared_values(
        customer=customer,
        invoices=invoices,
        contact=contact,
        company=company,
        today=today,
        portal_link=portal_link,
    )
    html = dict(text, table_outstanding_invoices=html_table(invoices, today))
    text["table_outstanding_invoices"] = text_table(invoices, today)
    return text, html


@lru_cache(maxsize=512)
def _template_parts(text):
    """The template as (literal, name, literal, …, literal), checked once: TemplateError if unknown."""
    check(text)
    return tuple(PLACEHOLDER.split(text or ""))


def fill(text, values, *, html=False):
    """templating.render(text, values, html=html), with the template split and checked once."""
    parts = _template_parts(text)
    out = []
    for index, part in enumerate(parts):
        if index % 2 == 0:  # literal text around the placeholders
            out.append(escape(part) if html else part)
            continue
        value = values.get(part, "")
        value = "" if value is None else str(value)
        out.append(escape(value) if html and part != "table_outstanding_invoices" else value)
    text = "".join(out)
    return text.replace("\n", "<br>\n") if html else text


def is_html(action_type):
    return action_type in HTML_ACTION_TYPES


def values_for(action_type, **keywords):
    """The values for one action type: HTML ones for email, text ones for every other channel."""
    return (message_values if is_html(action_type) else message_values_text)(**keywords)


def sample_values(company, *, html=True, today=None):
    """Believable values for a preview: a sample customer with two overdue invoices, no database rows."""
    today = today or company.today()
    currency = company.base_currency or "SGD"
    manager = SimpleNamespace(email="mei.tan@example.com", get_full_name=lambda: "Mei Tan")
    customer = SimpleNamespace(
        name="Harbourfront Trading Pte Ltd",
        code="CUST-0042",
        currency=currency,
        account_manager=manager,
        promise_date=today + dt.timedelta(days=7),
        promise_amount=Decimal("2500.00"),
    )
    invoices = [
        SimpleNamespace(
            number="INV-2026-0187",
            issue_date=today - dt.timedelta(days=44),
            due_date=today - dt.timedelta(days=14),
            currency=currency,
            total=Decimal("4280.00"),
            amount_due=Decimal("3280.00"),
        ),
        SimpleNamespace(
            number="INV-2026-0203",
            issue_date=today - dt.timedelta(days=25),
            due_date=today + dt.timedelta(days=5),
            currency=currency,
            total=Decimal("1150.50"),
            amount_due=Decimal("1150.50"),
        ),
    ]
    contact = SimpleNamespace(name="Priya Raman")
    builder = message_values if html else message_values_text
    return builder(
        customer=customer,
        invoices=invoices,
        contact=contact,
        company=company,
        today=today,
        portal_link=f"{settings.SITE_URL}/portal/",
    )
