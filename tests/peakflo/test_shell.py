"""The page shell: login required everywhere, navigation and user, dashboard figures within visibility.

The dashboard's figures themselves are checked in tests/reports/test_dashboard.py."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.messages import constants
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory
from django.urls import resolve, reverse

from invoices.models import InvoiceStatus
from peakflo import views
from peakflo.context_processors import current_section
from peakflo.models import Company
from reports import views as report_views

SHELL_PAGES = ["dashboard", "customers", "invoices", "actions", "disputes", "reports", "settings_index"]
NAV_LABELS = ["Dashboard", "Customers", "Invoices", "Actions", "Disputes", "Reports", "Settings"]


def still_coming():
    return [name for name in views.COMING if resolve(reverse(name)).func is views.coming]


@pytest.mark.parametrize("name", SHELL_PAGES)
def test_anonymous_is_sent_to_log_in(client, db, name):
    url = reverse(name)
    response = client.get(url)
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={url}"


def test_account_manager_sees_the_shell(client, am_alice):
    client.force_login(am_alice)
    response = client.get(reverse("dashboard"))
    html = response.content.decode()
    assert response.status_code == 200
    for label in NAV_LABELS:
        assert f"<span>{label}</span>" in html
    assert "Alice" in html
    assert "Account manager" in html
    assert f'action="{reverse("logout")}"' in html
    assert 'method="post"' in html


def test_htmx_is_served_from_our_static_files_with_the_csrf_header(client, am_alice):
    client.force_login(am_alice)
    html = client.get(reverse("dashboard")).content.decode()
    assert "/static/vendor/htmx-2.0.11/htmx.min.js" in html
    assert 'hx-headers=\'{"X-CSRFToken": "' in html
    assert "cdn" not in html.lower()
    assert "unpkg" not in html.lower()


@pytest.mark.parametrize(
    ("path", "section"),
    [
        ("/", "dashboard"),
        ("/customers/", "customers"),
        ("/customers/12/", "customers"),
        ("/settings/users/", "settings"),
        ("/admin/", None),
    ],
)
def test_current_section_is_the_longest_matching_prefix(path, section):
    items = [
        {"section": "dashboard", "url": "/"},
        {"section": "customers", "url": "/customers/"},
        {"section": "settings", "url": "/settings/"},
    ]
    assert current_section(path, items) == section


def test_the_current_section_is_highlighted(client, am_alice):
    client.force_login(am_alice)
    html = client.get(reverse("settings_index")).content.decode()
    assert f'href="{reverse("settings_index")}" aria-current="page"' in html
    assert html.count('aria-current="page"') == 1


def test_coming_pages_say_what_will_be_there_without_data(client, am_alice):
    client.force_login(am_alice)
    for name in still_coming():
        response = client.get(reverse(name))
        assert response.status_code == 200
        html = response.content.decode()
        assert "Coming soon" in html
        for feature in views.COMING[name]["features"]:
            assert feature.replace("'", "&#x27;") in html
        assert "<table" not in html


def test_flash_messages_are_shown_and_dismissible(client, am_alice):
    client.force_login(am_alice)
    request = RequestFactory().get("/")
    request.user = am_alice
    request.session = client.session
    request._messages = FallbackStorage(request)
    request._messages.add(constants.SUCCESS, "Customer saved.")
    request._messages.add(constants.ERROR, "The file is not a spreadsheet.")
    response = report_views.dashboard(request)
    html = response.content.decode()
    assert 'class="alert alert-success"' in html
    assert 'class="alert alert-error"' in html
    assert "Customer saved." in html
    assert html.count("data-dismiss") == 2


def dashboard_context(client, user):
    client.force_login(user)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    return response.context


@pytest.mark.parametrize(
    ("who", "customers", "open_count", "amount"),
    [
        # Alice manages Acme and Globex and views Initech; Bob manages Initech and Hooli.
        ("am_alice", 3, 3, Decimal("327.00")),
        ("am_bob", 2, 2, Decimal("218.00")),
        ("admin_user", 5, 5, Decimal("545.00")),
    ],
)
def test_dashboard_counts_only_what_the_user_may_see(
    client, book, request, who, customers, open_count, amount
):
    context = dashboard_context(client, request.getfixturevalue(who))
    figures = context["figures"]
    assert context["customer_count"] == customers
    assert figures["open_count"] == open_count
    assert figures["receivables"] == amount
    assert figures["overdue_count"] == open_count  # every invoice of the book is ten days late
    assert figures["overdue"] == amount


def test_dashboard_amounts_are_in_base_currency_and_leave_out_paid_and_future(client, book, am_alice):
    acme_invoice, globex_invoice, initech_invoice = book["invoices"][:3]
    globex_invoice.exchange_rate = Decimal("1.35")  # USD to SGD
    globex_invoice.save()
    initech_invoice.due_date = dt.date.today() + dt.timedelta(days=30)
    initech_invoice.save()
    acme_invoice.status = InvoiceStatus.PAID
    acme_invoice.amount_paid, acme_invoice.amount_due = acme_invoice.total, Decimal("0.00")
    acme_invoice.save()

    figures = dashboard_context(client, am_alice)["figures"]
    assert figures["open_count"] == 2
    assert figures["receivables"] == Decimal("147.15") + Decimal("109.00")
    assert figures["overdue_count"] == 1
    assert figures["overdue"] == Decimal("147.15")


# session, user, company, customers, account managers, tasks, whether kept figures are fresh, the open
# book, three flows, debtors and their names, disputes and four lists of promises: the same however
# many rows there are.
DASHBOARD_QUERIES = 19


def test_dashboard_runs_a_fixed_number_of_queries(client, book, admin_user, django_assert_max_num_queries):
    client.force_login(admin_user)
    client.get(reverse("dashboard"))  # warm the session and the company row
    with django_assert_max_num_queries(DASHBOARD_QUERIES):
        client.get(reverse("dashboard"))


def test_dashboard_shows_the_company_and_what_the_role_sees(client, book, am_alice):
    Company.objects.update_or_create(pk=1, defaults={"name": "Acme Holdings"})
    client.force_login(am_alice)
    html = client.get(reverse("dashboard")).content.decode()
    assert "Acme Holdings" in html
    assert "The customers you manage and those you are a default viewer of" in html
    assert 'id="stat-receivables"' in html


def test_dashboard_empty_state_for_an_account_manager_without_customers(client, am_bob):
    client.force_login(am_bob)
    response = client.get(reverse("dashboard"))
    html = response.content.decode()
    assert 'id="dashboard-empty"' in html
    assert "No customers are assigned to you yet" in html
    assert 'id="stat-receivables"' not in html


def test_settings_index_lists_administration_for_admins_only(client, admin_user, am_alice):
    client.force_login(admin_user)
    html = client.get(reverse("settings_index")).content.decode()
    assert "Administration" in html
    assert "Users" in html and "Company" in html

    client.force_login(am_alice)
    html = client.get(reverse("settings_index")).content.decode()
    assert "Administration" not in html
    assert "alice@example.com" in html
    assert "managed by your admins" in html
