"""The statement of account as a PDF, printed by WeasyPrint like invoices/pdf.py."""

from django.template.loader import render_to_string

from invoices.money import format_money
from invoices.pdf import PdfUnavailable, _logo_data_uri
from peakflo.models import Company


def render_statement_pdf(statement):
    try:
        from weasyprint import HTML  # imported here so the app starts where Pango is missing
    except (ImportError, OSError) as exc:
        raise PdfUnavailable(str(exc)) from exc
    company = Company.load()
    customer = statement.customer
    context = {
        "company": company,
        "logo": _logo_data_uri(company),
        "brand": company.brand_color or "#1d4ed8",
        "statement": statement,
        "customer": customer,
        "contact": customer.contacts.filter(is_main=True).first() or customer.contacts.first(),
        "today": company.today(),
        "m": {
            "opening": format_money(statement.opening_balance, statement.currency),
            "closing": format_money(statement.closing_balance, statement.currency),
            "charges": format_money(statement.total_charges, statement.currency),
            "credits": format_money(statement.total_credits, statement.currency),
        },
    }
    return HTML(string=render_to_string("portal/statement_pdf.html", context)).write_pdf()
