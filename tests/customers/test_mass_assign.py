import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from customers.models import Activity, ActivityKind, Customer
from peakflo.spreadsheets import write_xlsx
from tests.conftest import PASSWORD, make_user

URL = "/customers/mass-assign/"


def login(client, user):
    assert client.login(email=user.email, password=PASSWORD)


def xlsx(rows, headers=("customer ID", "email", "defaultViewers")):
    return write_xlsx(list(headers), rows)


def upload(client, content, name="assign.xlsx"):
    return client.post(URL, {"file": SimpleUploadedFile(name, content)})


def snapshot():
    return (
        sorted(Customer.objects.values_list("code", "account_manager_id")),
        sorted(Customer.default_viewers.through.objects.values_list("customer_id", "user_id")),
        Activity.objects.count(),
    )


def test_anonymous_is_sent_to_login(client, db):
    assert client.get(URL).status_code == 302
    assert client.get("/customers/mass-assign/template.xlsx").status_code == 302


@pytest.mark.parametrize("role_fixture", ["am_alice", "auditor"])
def test_account_managers_and_auditors_are_refused(client, book, role_fixture, request):
    login(client, request.getfixturevalue(role_fixture))
    before = snapshot()

    assert client.get(URL).status_code == 403
    assert upload(client, xlsx([["C-001", "bob@example.com", ""]])).status_code == 403
    assert snapshot() == before


def test_the_template_has_the_columns(client, db, ar_admin):
    login(client, ar_admin)

    response = client.get("/customers/mass-assign/template.xlsx")

    headers = next(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert headers == ("customer ID", "email", "defaultViewers")


def test_sets_account_manager_and_viewers_and_writes_the_timeline(client, book, admin_user, am_alice, am_bob):
    carol = make_user("carol@example.com", "account_manager")
    login(client, admin_user)
    content = xlsx([
        ["C-001", "BOB@example.com", "carol@example.com, alice@example.com"],
        ["C-003", "bob@example.com", ""],  # Bob's already; Alice stops viewing
        [1005, "carol@example.com", None],
    ])  # fmt: skip
    Customer.objects.filter(code="C-005").update(code="1005")

    response = upload(client, content)

    assert response.status_code == 200 and 'id="import-summary"' in response.text
    acme, initech, orphan = (Customer.objects.get(code=c) for c in ["C-001", "C-003", "1005"])
    assert acme.account_manager == am_bob and set(acme.default_viewers.all()) == {carol, am_alice}
    assert initech.account_manager == am_bob and not initech.default_viewers.exists()
    assert orphan.account_manager == carol
    acme_entry = Activity.objects.get(customer=acme, kind=ActivityKind.ASSIGNMENT)
    assert (acme_entry.data["from"], acme_entry.data["to"], acme_entry.actor_user) == (
        "Alice",
        "Bob",
        admin_user,
    )
    assert (
        Activity.objects.get(customer=initech, kind=ActivityKind.ASSIGNMENT).data["default viewers"] == "none"
    )
    assert not Activity.objects.filter(customer__code__in=["C-002", "C-004"]).exists()


def test_without_the_viewers_column_viewers_stay(client, book, admin_user, am_alice, am_bob):
    login(client, admin_user)

    response = upload(client, b"customer ID,email\nC-003,alice@example.com\n", name="assign.csv")

    assert "default viewers unchanged" in response.text
    initech = Customer.objects.get(code="C-003")
    assert initech.account_manager == am_alice and list(initech.default_viewers.all()) == [am_alice]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (xlsx([["C-001", "bob@example.com", ""]], headers=("customer ID", "viewers")), "Missing column"),
        (xlsx([["C-999", "bob@example.com", ""]]), "Row 2, customer ID: &#x27;C-999&#x27; is not a known customer ID."),
        (xlsx([["C-001", "nobody@example.com", ""]]), "Row 2, email: &#x27;nobody@example.com&#x27; is not a peakflo user."),
        (xlsx([["C-001", "inactive@example.com", ""]]), "Row 2, email: &#x27;inactive@example.com&#x27; is inactive"),
        (xlsx([["C-001", "bob@example.com", "alice@example.com, not-an-email"]]), "Row 2, defaultViewers: &#x27;not-an-email&#x27; is not an email address."),
        (xlsx([["C-001", "bob@example.com", "ghost@example.com"]]), "Row 2, defaultViewers: &#x27;ghost@example.com&#x27; is not a peakflo user."),
        (xlsx([["C-001", "", ""]]), "Row 2, email: is empty"),
        (xlsx([["C-001", "bob@example.com", ""], ["C-002", "bob@example.com", ""], ["C-001", "alice@example.com", ""]]),
         "Row 4, customer ID: &#x27;C-001&#x27; also appears in row 2."),
        (xlsx([["C-001", "auditor@example.com", ""]]), "Row 2, email: &#x27;auditor@example.com&#x27; is a read-only auditor"),
        (b"", "is empty"),
        (xlsx([]), "has a header row but no customers"),
        (b"%PDF-1.4\x00\x00\x00 binary", "neither an Excel workbook"),
        (b"PK\x03\x04 not really a zip", "not a readable Excel workbook"),
    ],
)  # fmt: skip
def test_bad_files_name_row_and_column_and_change_nothing(
    client, book, admin_user, auditor, content, expected
):
    make_user("inactive@example.com", "account_manager", is_active=False)
    login(client, admin_user)
    before = snapshot()

    response = upload(client, content)

    assert response.status_code == 200
    assert "Nothing was changed" in response.text
    assert expected in response.text
    assert snapshot() == before


def test_one_bad_row_among_good_ones_changes_nothing(client, book, admin_user):
    login(client, admin_user)
    before = snapshot()

    response = upload(client, xlsx([["C-001", "bob@example.com", ""], ["C-002", "bob@example.com", "x@y"]]))

    assert "Row 3, defaultViewers" in response.text
    assert snapshot() == before


def test_thousands_of_rows_take_a_few_queries(db, admin_user, am_alice, am_bob):
    from customers.imports import mass_assign

    Customer.objects.bulk_create(Customer(code=f"M-{i:05d}", name=f"Mass {i}") for i in range(3000))
    rows = [
        [f"M-{i:05d}", "alice@example.com" if i % 2 else "bob@example.com", "bob@example.com"]
        for i in range(3000)
    ]

    with CaptureQueriesContext(connection) as queries:
        summary = mass_assign(data=xlsx(rows), filename="big.xlsx", actor=admin_user)

    assert summary.customers == 3000 and summary.reassigned == 3000
    assert len(queries) < 25
    assert Customer.objects.filter(account_manager=am_alice).count() == 1500
    assert Customer.default_viewers.through.objects.filter(user=am_bob).count() == 3000
    assert Activity.objects.filter(kind=ActivityKind.ASSIGNMENT).count() == 3000


def test_the_command_does_the_same(book, tmp_path, am_bob):
    good = tmp_path / "assign.xlsx"
    good.write_bytes(xlsx([["C-002", "bob@example.com", ""]]))
    call_command("mass_assign", str(good))
    assert Customer.objects.get(code="C-002").account_manager == am_bob

    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"customer ID,email\nC-404,bob@example.com\n")
    with pytest.raises(CommandError, match="1 problem"):
        call_command("mass_assign", str(bad))
