import io

import pytest
from openpyxl import load_workbook

from customers.models import Customer
from tests.conftest import PASSWORD, make_user


def login(client, user):
    assert client.login(email=user.email, password=PASSWORD)


def names_in(response):
    return [customer.name for customer in response.context["page"].object_list]


def test_anonymous_is_sent_to_login(client, db):
    assert client.get("/customers/").status_code == 302
    assert client.get("/customers/export.xlsx").status_code == 302


def test_an_account_manager_sees_their_customers_and_those_they_view(client, book, am_alice):
    login(client, am_alice)

    response = client.get("/customers/")

    assert response.status_code == 200
    assert names_in(response) == ["Acme Pte Ltd", "Globex", "Initech"]
    assert "Hooli" not in response.text and "Umbrella" not in response.text


@pytest.mark.parametrize("role_fixture", ["admin_user", "ar_admin", "collections_user", "auditor"])
def test_roles_that_see_everything_see_every_customer(client, book, role_fixture, request):
    login(client, request.getfixturevalue(role_fixture))

    assert len(names_in(client.get("/customers/"))) == 5


def test_balances_and_overdue_are_summed_per_customer(client, book, am_alice):
    login(client, am_alice)

    acme = next(c for c in client.get("/customers/").context["page"].object_list if c.code == "C-001")

    assert (str(acme.balance), str(acme.overdue), acme.open_invoices) == ("109.00", "109.00", 1)


def test_filters_by_name_or_id_and_overdue(client, book, am_alice):
    login(client, am_alice)
    Customer.objects.filter(code="C-002").update(name="Globex Trading")

    assert names_in(client.get("/customers/", {"q": "glob"})) == ["Globex Trading"]
    assert names_in(client.get("/customers/", {"q": "c-003"})) == ["Initech"]
    assert names_in(client.get("/customers/", {"has_overdue": "no"})) == []


def test_htmx_requests_get_only_the_table(client, book, am_alice):
    login(client, am_alice)

    response = client.get("/customers/", {"q": "acme"}, headers={"HX-Request": "true"})

    assert "<html" not in response.text and "Acme Pte Ltd" in response.text


def test_an_account_manager_with_no_customers_is_told_why_and_whom_to_ask(client, book, admin_user):
    newcomer = make_user("new@example.com", "account_manager")
    login(client, newcomer)

    response = client.get("/customers/")

    assert "No customers are assigned to you yet" in response.text
    assert admin_user.name in response.text


def test_export_holds_only_the_filtered_rows_the_user_may_see(client, book, am_alice):
    login(client, am_alice)

    response = client.get("/customers/export.xlsx", {"q": "t"})

    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert rows[0][:2] == ("Customer ID", "Name")
    assert [row[1] for row in rows[1:]] == ["Acme Pte Ltd", "Initech"]
