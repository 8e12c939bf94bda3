import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Activity, ActivityKind, Customer, Tag
from tests.conftest import PASSWORD
from workflows.models import Workflow

URL = "/customers/bulk/"


def login(client, user):
    assert client.login(email=user.email, password=PASSWORD)


def test_anonymous_is_sent_to_login(client, book):
    assert client.get(URL).status_code == 302
    assert client.post(URL, {"ids": [book["acme"].pk]}).status_code == 302


@pytest.mark.parametrize("role_fixture", ["am_alice", "auditor"])
def test_account_managers_and_auditors_are_refused(client, book, am_bob, role_fixture, request):
    login(client, request.getfixturevalue(role_fixture))

    assert client.get(URL, {"ids": [book["acme"].pk]}).status_code == 403
    response = client.post(URL, {"ids": [book["acme"].pk], "account_manager": am_bob.pk, "confirm": "1"})

    assert response.status_code == 403
    assert Customer.objects.get(pk=book["acme"].pk).account_manager != am_bob


def test_checkboxes_show_only_for_roles_that_may_change_in_bulk(client, book, am_alice, collections_user):
    login(client, am_alice)
    assert 'name="ids"' not in client.get("/customers/").text
    login(client, collections_user)
    page = client.get("/customers/").text
    assert 'name="ids"' in page and "Select all 5 customers that match the filter" in page


def test_changing_the_owner_asks_for_confirmation_first(client, book, ar_admin, am_bob):
    login(client, ar_admin)
    ids = [book["acme"].pk, book["globex"].pk]

    response = client.post(URL, {"ids": ids, "account_manager": am_bob.pk})

    assert response.status_code == 200
    assert "Confirm the change" in response.text and "Account manager becomes Bob" in response.text
    assert Customer.objects.filter(pk__in=ids, account_manager=am_bob).count() == 0
    assert not Activity.objects.filter(kind=ActivityKind.ASSIGNMENT).exists()


def test_changing_the_owner_of_ticked_customers(client, book, ar_admin, am_alice, am_bob):
    login(client, ar_admin)
    ids = [book["acme"].pk, book["globex"].pk, book["initech"].pk]  # Initech is Bob's already

    response = client.post(URL, {"ids": ids, "account_manager": am_bob.pk, "confirm": "1", "filter": "q=x"})

    assert response.status_code == 302 and response["Location"] == "/customers/?q=x"
    assert Customer.objects.filter(pk__in=ids, account_manager=am_bob).count() == 3
    entries = Activity.objects.filter(kind=ActivityKind.ASSIGNMENT)
    assert sorted(e.customer.code for e in entries) == ["C-001", "C-002"]
    assert all(e.data["from"] == str(am_alice) and e.data["to"] == str(am_bob) for e in entries)
    assert all(e.actor_user == ar_admin for e in entries)
    assert Customer.objects.get(pk=book["hooli"].pk).account_manager == am_bob  # untouched anyway


def test_select_all_that_match_the_filter(client, book, admin_user, am_alice):
    login(client, admin_user)

    response = client.post(
        URL, {"scope": "filter", "filter": "?q=c-00&currency=SGD&page=2&sort=-balance",
              "account_manager": am_alice.pk, "confirm": "1"}
    )  # fmt: skip

    assert response.status_code == 302
    assert set(Customer.objects.filter(account_manager=am_alice).values_list("code", flat=True)) == {
        "C-001", "C-002", "C-005"
    }  # fmt: skip
    assert Customer.objects.get(code="C-004").account_manager != am_alice


def test_the_change_is_set_based(client, db, admin_user, am_alice, am_bob):
    Customer.objects.bulk_create(
        Customer(code=f"B-{i:04d}", name=f"Bulk {i}", account_manager=am_alice) for i in range(300)
    )
    login(client, admin_user)
    viewers_tag = Tag.objects.create(name="Bulk")

    with CaptureQueriesContext(connection) as queries:
        response = client.post(
            URL, {"scope": "filter", "filter": "q=bulk", "account_manager": am_bob.pk, "add_viewers": [am_alice.pk],
                  "add_tags": [viewers_tag.pk], "confirm": "1"}
        )  # fmt: skip

    assert response.status_code == 302
    assert len(queries) < 30
    assert Customer.objects.filter(account_manager=am_bob).count() == 300
    assert Customer.default_viewers.through.objects.filter(user=am_alice).count() == 300
    assert Activity.objects.filter(kind=ActivityKind.ASSIGNMENT).count() == 300
    assert Activity.objects.filter(kind=ActivityKind.CUSTOMER_CHANGED).count() == 300


def test_the_attributes_page_adds_and_removes_viewers_and_tags_and_sets_the_workflow(
    client, book, collections_user, am_alice, am_bob
):
    login(client, collections_user)
    vip, old = Tag.objects.create(name="VIP"), Tag.objects.create(name="Old")
    book["initech"].tags.add(old)
    strict = Workflow.objects.create(name="Strict")
    ids = [book["initech"].pk, book["hooli"].pk]

    page = client.get(URL, {"ids": ids})
    assert (
        page.status_code == 200
        and "Update customer attributes in bulk" in page.text
        and "2 customers" in page.text
    )

    response = client.post(
        URL, {"ids": ids, "add_viewers": [am_bob.pk], "remove_viewers": [am_alice.pk], "add_tags": [vip.pk],
              "new_tags": "Fresh", "remove_tags": [old.pk], "workflow": strict.pk, "confirm": "1"}
    )  # fmt: skip

    assert response.status_code == 302
    for customer in Customer.objects.filter(pk__in=ids):
        assert list(customer.default_viewers.all()) == [am_bob]
        assert sorted(t.name for t in customer.tags.all()) == ["Fresh", "VIP"]
        assert customer.workflow == strict
    initech_changes = Activity.objects.get(customer=book["initech"], kind=ActivityKind.CUSTOMER_CHANGED).data
    assert initech_changes["tags removed"] == "Old" and "Strict" in initech_changes["workflow"]
    assert Activity.objects.get(customer=book["initech"], kind=ActivityKind.ASSIGNMENT).data[
        "default viewers removed"
    ] == str(am_alice)
    assert not Activity.objects.filter(customer__in=[book["acme"], book["globex"]]).exists()


def test_nothing_to_change_or_nothing_selected_is_explained(client, book, admin_user):
    login(client, admin_user)

    assert "Choose at least one thing to change" in client.post(URL, {"ids": [book["acme"].pk]}).text
    assert "No customers are selected" in client.get(URL).text


def test_an_invalid_filter_changes_nothing(client, book, admin_user, am_bob):
    login(client, admin_user)

    response = client.post(
        URL, {"scope": "filter", "filter": "tag=99999", "account_manager": am_bob.pk, "confirm": "1"}
    )

    assert response.status_code == 200 and "no longer valid" in response.text
    assert not Customer.objects.filter(account_manager=am_bob).exclude(code__in=["C-003", "C-004"]).exists()
