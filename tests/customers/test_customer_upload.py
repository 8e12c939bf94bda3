import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from customers.imports import UPLOAD_ALL, upload_template
from customers.models import Activity, ActivityKind, Contact, Customer, Source
from peakflo.spreadsheets import write_xlsx
from tests.conftest import PASSWORD, make_user

URL = "/customers/upload/"


def login(client, user):
    assert client.login(email=user.email, password=PASSWORD)


def row(code="N-001", name="Newco", currency="SGD", terms=30, manager="", contact="", email="", phone="",
        whatsapp="", line="", main=""):  # fmt: skip
    return [code, name, currency, terms, manager, contact, email, phone, whatsapp, line, main]


def xlsx(rows, headers=UPLOAD_ALL):
    return write_xlsx(list(headers), rows)


def upload(client, content, name="customers.xlsx"):
    return client.post(URL, {"file": SimpleUploadedFile(name, content)})


def snapshot():
    return Customer.objects.count(), Contact.objects.count(), Activity.objects.count()


def test_anonymous_is_sent_to_login(client, db):
    assert client.get(URL).status_code == 302


@pytest.mark.parametrize("role_fixture", ["am_alice", "auditor"])
def test_account_managers_and_auditors_are_refused(client, book, role_fixture, request):
    login(client, request.getfixturevalue(role_fixture))
    before = snapshot()

    assert client.get(URL).status_code == 403
    assert client.get("/customers/upload/template.xlsx").status_code == 403
    assert upload(client, xlsx([row()])).status_code == 403
    assert snapshot() == before


def test_the_template_uploads_as_it_is(client, book, ar_admin, am_alice):
    login(client, ar_admin)
    template = client.get("/customers/upload/template.xlsx").content
    assert next(load_workbook(io.BytesIO(template)).active.iter_rows(values_only=True)) == tuple(UPLOAD_ALL)

    response = upload(client, template)

    assert 'id="import-summary"' in response.text and "2 customers added" in response.text
    acme = Customer.objects.get(code="C-100")
    assert acme.account_manager == am_alice and acme.source == Source.IMPORT
    assert [(c.name, c.is_main) for c in acme.contacts.all()] == [("Ann Tan", True), ("Ben Lim", False)]
    siam = Customer.objects.get(code="C-101")
    assert (siam.currency, siam.payment_terms_days, siam.main_contact.line_id) == ("THB", 45, "somchai.p")


def test_customers_and_contacts_with_defaults_and_timeline(client, db, collections_user):
    default = make_user("dee@example.com", "account_manager", is_default_account_manager=True)
    login(client, collections_user)
    content = b"customer ID,name,contact name,contact email,WhatsApp\nN-1,Alpha,Ann,ann@alpha.test,+66 81\nN-1,,Ben,,\nN-2,Beta,,,\n"

    response = upload(client, content, name="customers.csv")

    assert "2 customers added" in response.text and "2 contacts" in response.text
    alpha = Customer.objects.get(code="N-1")
    assert (alpha.name, alpha.currency, alpha.payment_terms_days, alpha.account_manager) == (
        "Alpha",
        "SGD",
        30,
        default,
    )
    assert alpha.main_contact.name == "Ann" and alpha.main_contact.whatsapp == "+66 81"
    assert not Customer.objects.get(code="N-2").contacts.exists()
    created = Activity.objects.filter(kind=ActivityKind.CUSTOMER_CREATED)
    assert created.count() == 2 and all(e.actor_user == collections_user for e in created)
    assert Activity.objects.filter(kind=ActivityKind.ASSIGNMENT, customer=alpha).get().data["to"] == str(
        default
    )


@pytest.mark.parametrize(
    ("rows", "headers", "expected"),
    [
        ([row()], ["customer ID", "currency"], "Missing column: name"),
        ([row(code="C-001")], UPLOAD_ALL, "Row 2, customer ID: &#x27;C-001&#x27; already exists"),
        ([row(manager="ghost@example.com")], UPLOAD_ALL, "Row 2, account manager email: &#x27;ghost@example.com&#x27; is not a peakflo user."),
        ([row(manager="not an email")], UPLOAD_ALL, "Row 2, account manager email: &#x27;not an email&#x27; is not an email address."),
        ([row(currency="XYZ")], UPLOAD_ALL, "Row 2, currency: &#x27;XYZ&#x27; is not an ISO 4217 code"),
        ([row(terms="soon")], UPLOAD_ALL, "Row 2, payment terms: &#x27;soon&#x27; is not a number of days"),
        ([row(name="")], UPLOAD_ALL, "Row 2, name: is empty."),
        ([row(contact="A", main="yes"), row(contact="B", main="yes")], UPLOAD_ALL,
         "Row 3, main contact: &#x27;N-001&#x27; already has a main contact in row 2."),
        ([row(), row(name="Other name")], UPLOAD_ALL, "Row 3, name: &#x27;Other name&#x27; differs from row 2"),
        ([row(contact="A", email="bad@")], UPLOAD_ALL, "Row 2, contact email: &#x27;bad@&#x27; is not an email address."),
        ([row(email="a@b.test")], UPLOAD_ALL, "Row 2, contact name: is empty while the row has contact details."),
        ([row(contact="A", main="maybe")], UPLOAD_ALL, "Row 2, main contact: &#x27;maybe&#x27; is neither yes nor no."),
        ([], UPLOAD_ALL, "has a header row but no customers"),
    ],
)  # fmt: skip
def test_bad_rows_name_row_and_column_and_add_nothing(client, book, admin_user, rows, headers, expected):
    login(client, admin_user)
    before = snapshot()

    response = upload(client, xlsx([r[: len(headers)] for r in rows], headers=headers))

    assert "Nothing was changed" in response.text
    assert expected in response.text
    assert snapshot() == before


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"", "is empty"), (b"\x89PNG\r\n\x1a\n\x00\x00 image", "neither an Excel workbook"),
     (b"PK\x03\x04 broken", "not a readable Excel workbook")],
)  # fmt: skip
def test_unreadable_files_are_refused(client, book, admin_user, content, expected):
    login(client, admin_user)
    before = snapshot()

    response = upload(client, content)

    assert "Nothing was changed" in response.text and expected in response.text
    assert snapshot() == before


def test_one_bad_row_among_many_adds_nothing(client, db, admin_user):
    login(client, admin_user)
    rows = [row(code=f"N-{i}", name=f"Newco {i}") for i in range(50)] + [row(code="N-3", name="Dup")]

    response = upload(client, xlsx(rows))

    assert "Row 52, name" in response.text
    assert not Customer.objects.exists()


def test_template_is_a_valid_workbook():
    assert load_workbook(io.BytesIO(upload_template())).active.max_row == 4
