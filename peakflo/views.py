"""The shell's own pages: the dashboard, the settings index, and honest placeholders for sections to come."""

from django.contrib.auth.decorators import login_required
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import render
from django.urls import NoReverseMatch, resolve, reverse

from customers.models import Customer
from invoices.models import ZERO, Invoice

from .models import Company, Role

_BASE_MONEY = DecimalField(max_digits=24, decimal_places=2)

# What each role sees, in the words of DESIGN.md's visibility rule.
SCOPE_OF_ROLE = {
    Role.ADMIN: "every customer and invoice, plus users and company settings",
    Role.AR_ADMIN: "every customer and invoice, and the workflows that chase them",
    Role.COLLECTIONS: "every customer and invoice",
    Role.AUDITOR: "every customer and invoice, read-only",
    Role.ACCOUNT_MANAGER: "the customers you manage and those you are a default viewer of, with their invoices",
}

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
    "disputes": {
        "title": "Disputes",
        "icon": "message-square-warning",
        "summary": "Invoices a customer questions, and the conversation that settles them.",
        "features": [
            "Disputes raised by you or by customers in the payer portal",
            "A thread of comments and files on each dispute",
            "Reminders paused on a disputed invoice until the dispute is resolved",
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


def _in_base_currency(field):
    return ExpressionWrapper(F(field) * F("exchange_rate"), output_field=_BASE_MONEY)


def _receivables(user, today):
    """Open and overdue invoices the user may see: counts and amounts in base currency, one query."""
    overdue = Q(due_date__lt=today)
    return (
        Invoice.objects.visible_to(user)
        .outstanding()
        .aggregate(
            open_count=Count("pk"),
            open_amount=Coalesce(Sum(_in_base_currency("amount_due")), Value(ZERO), output_field=_BASE_MONEY),
            overdue_count=Count("pk", filter=overdue),
            overdue_amount=Coalesce(
                Sum(_in_base_currency("amount_due"), filter=overdue), Value(ZERO), output_field=_BASE_MONEY
            ),
        )
    )


def _still_coming():
    """Sections whose URL still leads to the placeholder page (a real app's route replaces it)."""
    sections = []
    for section in COMING:
        try:
            if resolve(reverse(section)).func is coming:
                sections.append(section)
        except NoReverseMatch:
            sections.append(section)
    return sections


@login_required
def dashboard(request):
    company = Company.load()
    user = request.user
    today = company.today()
    context = {
        "company": company,
        "today": today,
        "scope": SCOPE_OF_ROLE.get(user.role, "nothing yet"),
        "customer_count": Customer.objects.visible_to(user).count(),
        **_receivables(user, today),
        "coming_sections": _still_coming(),
    }
    return render(request, "peakflo/dashboard.html", context)


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
