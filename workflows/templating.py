"""Reminder templates written by users, rendered in a sandbox.

A template is text with placeholders such as ``{{ invoiceNumber }}``. Nothing else is evaluated:
no tags, no filters, no attribute access — a placeholder names one plain value from a fixed set,
so a template can never reach a model object or run code. Unknown placeholders are an error when
the template is saved (`unknown_placeholders`), not when it is sent.
"""

import re
from html import escape

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
ANYTHING_IN_BRACES = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.DOTALL)

# The names account managers already know from the tools they leave behind, and what each holds.
PLACEHOLDERS = {
    "recipientName": "The contact's name (or the customer's when no contact is named)",
    "customerName": "The customer's name",
    "customerId": "The customer ID",
    "invoiceNumber": "The invoice's number (the oldest due invoice of the message)",
    "invoiceAmountDue": "What is still due on that invoice, with its currency",
    "invoiceTotal": "The invoice's total, with its currency",
    "invoiceCurrency": "The invoice's currency code",
    "invoiceIssueDate": "The invoice's issue date",
    "invoiceDueDate": "The invoice's due date",
    "invoiceDaysOverdue": "Days past the due date (0 when not yet due)",
    "totalAmountDue": "Everything the customer owes across the invoices of the message",
    "table_outstanding_invoices": "A table of all the invoices the message covers",
    "accountManagerName": "The account manager's name",
    "accountManagerEmail": "The account manager's email address",
    "companyName": "Your company's name",
    "customerPortalLink": "A link to the payer portal for this customer",
    "promiseDate": "The date the customer promised to pay",
    "promiseAmount": "The amount the customer promised to pay",
}


class TemplateError(ValueError):
    pass


def placeholders_in(text):
    return [match.group(1) for match in PLACEHOLDER.finditer(text or "")]


def unknown_placeholders(text):
    """Whatever stands in braces in `text` and is not a known placeholder, in order, each once.

    `{{ invoice.customer }}`, `{{ name|upper }}` and `{% tag %}` are all refused: only names are allowed.
    """
    seen = []
    for match in ANYTHING_IN_BRACES.finditer(text or ""):
        inside = (match.group(1) if match.group(1) is not None else "%" + match.group(2) + "%").strip()
        if inside not in PLACEHOLDERS and inside not in seen:
            seen.append(inside)
    return seen


def check(text, *, field="template"):
    """Raise TemplateError naming every unknown placeholder of `text`."""
    unknown = unknown_placeholders(text)
    if unknown:
        names = ", ".join("{{ " + name + " }}" for name in unknown)
        raise TemplateError(
            f"The {field} uses {names}, which {'is' if len(unknown) == 1 else 'are'} not a placeholder. "
            f"Known placeholders: {', '.join(sorted(PLACEHOLDERS))}."
        )


def render(text, values, *, html=False):
    """Fill the placeholders of `text` from `values` (a dict of plain strings and numbers).

    With html=True every value is escaped, except `table_outstanding_invoices`, which the engine
    builds as HTML itself; user-written text around the placeholders is escaped too.
    """
    check(text)
    values = {name: ("" if value is None else value) for name, value in values.items()}

    if not html:
        return PLACEHOLDER.sub(lambda m: str(values.get(m.group(1), "")), text)

    parts, last = [], 0
    for match in PLACEHOLDER.finditer(text):
        parts.append(escape(text[last : match.start()]))
        name = match.group(1)
        value = values.get(name, "")
        parts.append(str(value) if name == "table_outstanding_invoices" else escape(str(value)))
        last = match.end()
    parts.append(escape(text[last:]))
    return "".join(parts).replace("\n", "<br>\n")
