"""The shell's own pages: the settings index and honest placeholders for sections to come.

The dashboard lives in reports/views.py."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from .models import Company

# Sections whose pages are not built yet: what they will hold, said plainly.
COMING = {
    "actions": {
        "title": "Actions",
        "icon": "list-checks",
        "summary": "The work the collection workflows hand to people.",
        "features": [
            "Your task list: phone calls, office visits, letters and escalations",
            "Reminders due today and the messages already sent, with delivery status",
            "Ad-hoc emails, SMS, WhatsApp and LINE messages to a customer's contacts",
        ],
    },
    "reports": {
        "title": "Reports",
        "icon": "chart-column",
        "summary": "Where the money is, and who is collecting it.",
        "features": [
            "Invoice status tracking and customer status tracking",
            "Aging per account manager, in your base currency",
            "Account manager activity",
            "Every report exported to Excel",
        ],
    },
}


@login_required
def coming(request, section):
    if section not in COMING:
        raise Http404
    return render(request, "peakflo/coming.html", {"section": COMING[section]})


@login_required
def settings_index(request):
    return render(request, "peakflo/settings_index.html", {"company": Company.load()})


def company_logo(request):
    """The company's logo, for pages, e-mails and PDFs. Public: it is on every invoice anyway.
    Uploaded files are never served from a public folder; this is the one image that is."""
    from django.http import FileResponse, Http404

    from .models import Company

    company = Company.load()
    if not company.logo:
        raise Http404("No logo")
    return FileResponse(company.logo.open("rb"))
