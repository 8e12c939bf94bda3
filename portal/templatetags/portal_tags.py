"""The portal's navigation, and the staff-side check for the "Revoke portal access" button."""

from django import template
from django.urls import NoReverseMatch, reverse

from ..permissions import can_revoke_portal_access

register = template.Library()

# (section, label, URL name, icon). Messages is built by the portal actions; until its URL exists the
# entry is left out rather than linking nowhere.
PORTAL_NAV = (
    ("home", "Overview", "portal_home", "layout-dashboard"),
    ("invoices", "Invoices", "portal_invoices", "file-text"),
    ("credit_notes", "Credit notes", "portal_credit_notes", "receipt"),
    ("payments", "Payments", "portal_payments", "wallet"),
    ("statement", "Statement", "portal_statement", "scale"),
    ("messages", "Messages", "portal_messages", "inbox"),
)


@register.inclusion_tag("portal/_nav.html", takes_context=True)
def portal_nav(context):
    current = context.get("portal_section", "")
    items = []
    for section, label, url_name, icon in PORTAL_NAV:
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        items.append(
            {"section": section, "label": label, "url": url, "icon": icon, "current": section == current}
        )
    return {"items": items}


@register.simple_tag
def can_revoke_portal(user, customer):
    return can_revoke_portal_access(user, customer)


@register.simple_tag
def portal_company():
    """The company whose portal this is: name, logo and brand colour on every portal page."""
    from peakflo.models import Company

    return Company.load()


@register.inclusion_tag("portal/_invoice_status.html")
def portal_invoice_status(invoice, today):
    if invoice.status == "paid" or invoice.amount_due <= 0:
        state, label = "success", "Paid"
    elif invoice.due_date < today:
        days = (today - invoice.due_date).days
        state, label = "danger", f"Overdue {days} day{'s' if days != 1 else ''}"
    elif invoice.is_partially_paid:
        state, label = "info", "Partly paid"
    else:
        state, label = "neutral", "Due"
    return {"state": state, "label": label}
