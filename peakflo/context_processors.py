"""What every page of the shell needs: the navigation, the section we are in, the company's name."""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject

from .models import Company
from .uploads import upload_limit_lazy


@dataclass(frozen=True)
class NavItem:
    section: str
    label: str
    url_name: str
    icon: str  # a symbol of static/vendor/lucide-*/icons.svg
    description: str


NAV = (
    NavItem("dashboard", "Dashboard", "dashboard", "layout-dashboard", "What is owed and what is overdue"),
    NavItem("customers", "Customers", "customers", "users", "Balances, timelines, notes and contacts"),
    NavItem("invoices", "Invoices", "invoices", "file-text", "Every invoice, its status and its payments"),
    NavItem("actions", "Actions", "actions", "list-checks", "Tasks and reminders the workflows create"),
    NavItem(
        "disputes", "Disputes", "disputes", "message-square-warning", "Questioned invoices and their threads"
    ),
    NavItem("reports", "Reports", "reports", "chart-column", "Aging, status tracking and activity"),
    NavItem("settings", "Settings", "settings_index", "settings", "Users, company and your account"),
)


def _url_of(item):
    try:
        return reverse(item.url_name)
    except NoReverseMatch:  # a section whose app is not wired yet still gets a sensible link
        return f"/{item.section}/"


def current_section(path, items):
    """The nav section a path belongs to: the item whose URL is the longest prefix of it ("/" only itself)."""
    matching = [
        item for item in items if path == item["url"] or (item["url"] != "/" and path.startswith(item["url"]))
    ]
    if not matching:
        return None
    return max(matching, key=lambda item: len(item["url"]))["section"]


def initials(user):
    """Up to two letters for the avatar: "Maya Tan" gives "MT", "ops@example.com" gives "O"."""
    if not user.is_authenticated:
        return ""
    words = (user.name or user.email).split()
    return "".join(word[0] for word in words[:2]).upper()


def shell(request):
    items = [
        {
            "section": item.section,
            "label": item.label,
            "url": _url_of(item),
            "icon": item.icon,
            "description": item.description,
        }
        for item in NAV
    ]
    section = current_section(request.path, items)
    for item in items:
        item["current"] = item["section"] == section
    # Lazy: pages that never print the company's name (or anonymous JSON views) cost no query.
    company_name = SimpleLazyObject(lambda: Company.load().name)
    return {
        "nav_items": items,
        "current_section": section,
        "company_name": company_name,
        "user_initials": initials(request.user) if hasattr(request, "user") else "",
        "upload_limit": upload_limit_lazy(),  # "10 MB", as UPLOAD_MAX_BYTES says
    }
