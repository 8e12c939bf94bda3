"""/disputes/: open first, filtered by reason, age, account manager, customer and status; Excel export."""

import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from disputes.models import DisputeReason
from disputes.services import raise_dispute, resolve_dispute
from tests.conftest import PASSWORD


def login(client, user):
    assert client.login(email=user.email, password=PASSWORD)


def reason(name):
    return DisputeReason.objects.get(name=name)


@pytest.fixture
def disputes(book, admin_user):
    """Acme's raised 2 days ago, Globex's 10 days ago, Initech's 40 days ago (resolved), Hooli's 45 days ago."""
    now = timezone.now()
    invoices = book["invoices"]
    acme = raise_dispute(
        invoice=invoices[0], reason=reason("Double charged"), actor=admin_user, at=now - dt.timedelta(days=2)
    )
    globex = raise_dispute(
        invoice=invoices[1],
        reason=reason("Delivery not made"),
        actor=admin_user,
        comment='=HYPERLINK("http://evil")',
        at=now - dt.timedelta(days=10),
    )
    initech = raise_dispute(
        invoice=invoices[2], reason=reason("Double charged"), actor=admin_user, at=now - dt.timedelta(days=40)
    )
    resolve_dispute(dispute=initech, actor=admin_user, resolution="Refunded the second payment.")
    hooli = raise_dispute(
        invoice=invoices[3],
        reason=reason("Incorrect amount charged"),
        actor=admin_user,
        at=now - dt.timedelta(days=45),
    )
    return {"acme": acme, "globex": globex, "initech": initech, "hooli": hooli}


def numbers(response):
    return [d.invoice.number for d in response.context["page"].object_list]


def test_the_list_shows_open_disputes_newest_first_by_default(client, disputes, admin_user):
    login(client, admin_user)

    response = client.get(reverse("disputes"))

    assert response.status_code == 200
    assert numbers(response) == ["INV-0001", "INV-0002", "INV-0004"]
    assert "Double charged" in response.text and "Acme Pte Ltd" in response.text


def test_status_shows_resolved_or_every_dispute(client, disputes, admin_user):
    login(client, admin_user)

    assert numbers(client.get(reverse("disputes"), {"status": "resolved"})) == ["INV-0003"]
    assert numbers(client.get(reverse("disputes"), {"status": "all"})) == [
        "INV-0001",
        "INV-0002",
        "INV-0003",
        "INV-0004",
    ]


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"age": "lt7"}, ["INV-0001"]),
        ({"age": "7to30"}, ["INV-0002"]),
        ({"age": "gt30"}, ["INV-0004"]),
        ({"age": "gt30", "status": "all"}, ["INV-0003", "INV-0004"]),
        ({"q": "glob"}, ["INV-0002"]),
        ({"q": "C-004"}, ["INV-0004"]),
        ({"q": "INV-0001"}, ["INV-0001"]),
    ],
)
def test_filters_by_age_and_customer_search(client, disputes, admin_user, params, expected):
    login(client, admin_user)
    assert numbers(client.get(reverse("disputes"), params)) == expected


def test_filters_by_reason_and_account_manager(client, disputes, admin_user, am_alice, am_bob):
    login(client, admin_user)

    by_reason = client.get(reverse("disputes"), {"reason": reason("Double charged").pk, "status": "all"})
    by_bob = client.get(reverse("disputes"), {"account_manager": am_bob.pk})

    assert numbers(by_reason) == ["INV-0001", "INV-0003"]
    assert numbers(by_bob) == ["INV-0004"]


def test_sorting_by_customer(client, disputes, admin_user):
    login(client, admin_user)

    ascending = numbers(client.get(reverse("disputes"), {"sort": "customer"}))
    descending = numbers(client.get(reverse("disputes"), {"sort": "-customer"}))

    assert ascending == ["INV-0001", "INV-0002", "INV-0004"]  # Acme, Globex, Hooli
    assert descending == list(reversed(ascending))


def test_htmx_gets_the_table_only(client, disputes, admin_user):
    login(client, admin_user)

    response = client.get(reverse("disputes"), {"q": "acme"}, headers={"HX-Request": "true"})

    assert [t.name for t in response.templates][0] == "disputes/_table.html"
    assert "<html" not in response.text and "INV-0001" in response.text
    assert 'id="export-link" hx-swap-oob="true"' in response.text and "q=acme" in response.text


def test_pages_of_fifty(client, book, admin_user):
    from disputes import views

    login(client, admin_user)
    for invoice in book["invoices"]:
        raise_dispute(invoice=invoice, reason=reason("Double charged"), actor=admin_user)

    views.PAGE_SIZE, old = 2, views.PAGE_SIZE
    try:
        first = client.get(reverse("disputes"))
        third = client.get(reverse("disputes"), {"page": 3})
    finally:
        views.PAGE_SIZE = old

    assert len(numbers(first)) == 2 and len(numbers(third)) == 1
    assert "1–2 of 5" in first.text


def test_the_export_holds_the_filtered_rows_with_formulas_neutralised(client, disputes, admin_user):
    login(client, admin_user)

    response = client.get(reverse("disputes_export"), {"status": "all", "age": "7to30"})

    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    header, *data = rows
    assert header[:7] == (
        "Dispute",
        "Invoice number",
        "Customer ID",
        "Customer",
        "Account manager",
        "Reason",
        "Status",
    )
    assert len(data) == 1
    row = dict(zip(header, data[0], strict=True))
    assert row["Invoice number"] == "INV-0002" and row["Customer"] == "Globex"
    assert row["Reason"] == "Delivery not made" and row["Status"] == "Open" and row["Days open"] == 10
    assert row["Account manager"] == "Alice" and row["Raised by"] == "Admin"
    assert row["Comment"] == '\'=HYPERLINK("http://evil")'


def test_the_export_of_resolved_disputes_says_how_they_ended(client, disputes, admin_user):
    login(client, admin_user)

    response = client.get(reverse("disputes_export"), {"status": "resolved"})

    header, *data = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    row = dict(zip(header, data[0], strict=True))
    assert (
        len(data) == 1
        and row["Resolution"] == "Refunded the second payment."
        and row["Resolved by"] == "Admin"
    )


def test_an_account_manager_sees_and_exports_only_disputes_of_customers_they_may_see(
    client, disputes, am_alice
):
    login(client, am_alice)

    listed = numbers(client.get(reverse("disputes"), {"status": "all"}))
    exported = client.get(reverse("disputes_export"), {"status": "all"})

    # Acme and Globex are Alice's; she views Bob's Initech; Hooli is Bob's alone.
    assert listed == ["INV-0001", "INV-0002", "INV-0003"]
    _, *data = list(load_workbook(io.BytesIO(exported.content)).active.iter_rows(values_only=True))
    assert sorted(row[1] for row in data) == ["INV-0001", "INV-0002", "INV-0003"]
    assert client.get(reverse("dispute_detail", args=[disputes["hooli"].pk])).status_code == 404


def test_empty_states(client, book, am_alice, admin_user):
    login(client, am_alice)
    assert "No disputes yet" in client.get(reverse("disputes")).text

    dispute = raise_dispute(invoice=book["invoices"][0], reason=reason("Double charged"), actor=am_alice)
    resolve_dispute(dispute=dispute, actor=am_alice, resolution="Fine")
    assert "No open disputes" in client.get(reverse("disputes")).text
    assert "No dispute matches these filters" in client.get(reverse("disputes"), {"q": "zzz"}).text


def test_the_sidebar_leads_to_the_list_not_a_placeholder(client, admin_user):
    login(client, admin_user)

    response = client.get(reverse("dashboard"))

    disputes_item = next(item for item in response.context["nav_items"] if item["section"] == "disputes")
    assert disputes_item["url"] == "/disputes/"
    page = client.get("/disputes/")
    assert "Coming" not in page.text and 'id="dispute-filters"' in page.text


def test_anonymous_is_sent_to_login(client, db):
    for name in ("disputes", "disputes_export"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and "/login" in response["Location"]
