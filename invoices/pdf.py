"""Invoice PDFs: an HTML template printed by WeasyPrint."""

import base64
import mimetypes

from django.template.loader import render_to_string

from peakflo.models import Company

from .money import format_money


class PdfUnavailable(RuntimeError):
    """WeasyPrint or the system libraries it needs (Pango) could not be loaded."""


def _logo_data_uri(company):
    """The logo inlined, so the PDF needs no file path or URL from any storage backend."""
    if not company.logo:
        return None
    try:
        with company.logo.open("rb") as logo:
            data = logo.read()
    except OSError:
        return None
    content_type = mimetypes.guess_type(company.logo.name)[0] or "image/png"
    return f"data:{content_type};base64,{base64.b64encode(data).decode()}"


def invoice_context(invoice, *, company=None):
    company = company or Company.load()
    currency = invoice.currency
    lines = list(invoice.lines.all())
    customer = invoice.customer
    return {
        "company": company,
        "logo": _logo_data_uri(company),
        "brand": company.brand_color or "#1d4ed8",
        "invoice": invoice,
        "customer": customer,
        "contact": customer.contacts.filter(is_main=True).first() or customer.contacts.first(),
        "lines": lines,
        "show_tax_column": any(line.tax_rate for line in lines),
        "m": {
            name: format_money(getattr(invoice, name), currency)
            for name in ("subtotal", "tax", "total", "amount_paid", "amount_credited", "amount_due")
        },
        "today": company.today(),
    }


def render_invoice_pdf(invoice):
    """The invoice as PDF bytes; raises PdfUnavailable when WeasyPrint cannot run here."""
    try:
        from weasyprint import HTML  # imported here so the app starts where Pango is missing
    except (ImportError, OSError) as exc:
        raise PdfUnavailable(str(exc)) from exc
    html = render_to_string("invoices/pdf.html", invoice_context(invoice))
    return HTML(string=html).write_pdf()
