import re

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render

from ..pdf import PdfUnavailable, render_invoice_pdf
from .access import visible_invoice


@login_required
def invoice_pdf(request, pk):
    """The invoice PDF, shown in the browser; ?download=1 saves it instead."""
    invoice = visible_invoice(request.user, pk)
    try:
        pdf = render_invoice_pdf(invoice)
    except PdfUnavailable as exc:
        return render(
            request, "invoices/pdf_unavailable.html", {"invoice": invoice, "reason": str(exc)}, status=503
        )
    response = HttpResponse(pdf, content_type="application/pdf")
    disposition = "attachment" if request.GET.get("download") else "inline"
    filename = re.sub(r"[^A-Za-z0-9._-]+", "_", invoice.number)
    response["Content-Disposition"] = f'{disposition}; filename="{filename}.pdf"'
    return response
