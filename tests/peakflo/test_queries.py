"""The faster forms of three reads must give what their plain forms give."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import Customer, managers_visible_to
from invoices.models import Invoice
from peakflo.models import Role, User
from peakflo.queries import CappedPaginator, distinct_values
from tests.conftest import make_user


def test_the_currency_filters_offer_every_currency_in_use_once_in_order(client, book, admin_user):
    Customer.objects.create(code="C-EUR", name="Euro GmbH", currency="EUR")  # a customer with no invoice
    assert distinct_values(Invoice, "currency") == ["IDR", "SGD", "THB", "USD"]
    assert distinct_values(Customer, "currency") == ["EUR", "IDR", "SGD", "THB", "USD"]

    client.force_login(admin_user)
    invoice_page = client.get(reverse("invoices")).content.decode()
    offered = re.findall(r'<option value="([A-Z]{3})"', invoice_page)
    assert offered == ["IDR", "SGD", "THB", "USD"]
    customer_page = client.get(reverse("customers")).content.decode()
    assert re.findall(r'<option value="([A-Z]{3})"', customer_page) == ["EUR", "IDR", "SGD", "THB", "USD"]


def test_the_currency_choices_hop_through_the_index_instead_of_reading_every_invoice(book):
    with CaptureQueriesContext(connection) as queries:
        distinct_values(Invoice, "currency")
    assert len(queries) == 1
    plan = "\n".join(row[0] for row in _explain(queries[0]["sql"]))
    assert "invoice_currency_idx" in plan, plan
    assert "Seq Scan" not in plan, plan


def _explain(sql):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan TO off")  # a 5-row table would be scanned anyway
        cursor.execute("EXPLAIN " + sql)
        return cursor.fetchall()


def test_a_long_invoice_list_says_more_than_ten_thousand_and_stops_counting(client, admin_user, book):
    today = dt.date.today()
    acme = book["acme"]
    Invoice.objects.bulk_create(
        Invoice(
            number=f"BULK-{n:05d}",
            customer=acme,
            currency="SGD",
            issue_date=today,
            due_date=today,
            subtotal=Decimal("1.00"),
            total=Decimal("1.00"),
            amount_due=Decimal("1.00"),
        )
        for n in range(CappedPaginator.COUNT_UP_TO + 1)
    )
    client.force_login(admin_user)
    page = client.get(reverse("invoices")).content.decode()
    assert "1–50 of more than 10,000" in page
    last = client.get(reverse("invoices"), {"page": 200}).content.decode()
    assert "9951–10000 of more than 10,000" in last
    assert 'rel="next"' not in last  # the pages stop at the count; the filters or the export go further

    narrowed = client.get(reverse("invoices"), {"currency": "IDR"}).content.decode()
    assert "more than" not in narrowed


@pytest.mark.parametrize(
    "who", ["admin", "ar_admin", "collections", "auditor", "alice", "bob", "carol", "inactive", "anonymous"]
)
def test_the_account_manager_choices_are_the_managers_of_the_customers_one_may_see(
    who, book, am_alice, am_bob
):
    carol = make_user("carol@example.com", Role.ACCOUNT_MANAGER)  # manages nothing, views nothing
    make_user("dave@example.com", Role.ACCOUNT_MANAGER)  # manages nothing
    viewer_only = make_user("erin@example.com", Role.ACCOUNT_MANAGER)
    book["hooli"].default_viewers.add(viewer_only)
    users = {
        "admin": make_user("admin@example.com", Role.ADMIN),
        "ar_admin": make_user("ar@example.com", Role.AR_ADMIN),
        "collections": make_user("collections@example.com", Role.COLLECTIONS),
        "auditor": make_user("auditor@example.com", Role.AUDITOR),
        "alice": am_alice,
        "bob": am_bob,
        "carol": carol,
        "inactive": make_user("gone@example.com", Role.ACCOUNT_MANAGER, is_active=False),
    }
    user = users.get(who) or AnonymousUser()
    plain = User.objects.filter(pk__in=Customer.objects.visible_to(user).values("account_manager"))
    assert set(managers_visible_to(user)) == set(plain)
    expected = {
        "admin": {am_alice, am_bob},
        "alice": {am_alice, am_bob},  # Bob manages Initech, which Alice views
        "bob": {am_bob},
        "carol": set(),
        "anonymous": set(),
        "inactive": set(),
    }
    if who in expected:
        assert set(managers_visible_to(user)) == expected[who]
    assert set(managers_visible_to(viewer_only)) == {am_bob}
