import pytest

from customers.models import Activity, ActivityKind, Contact, Customer, Tag
from tests.conftest import PASSWORD, make_user


def login(client, user):
    assert client.login(email=user.email, password=PASSWORD)


def contacts_data(*rows, initial=0):
    data = {
        "contacts-TOTAL_FORMS": str(len(rows)),
        "contacts-INITIAL_FORMS": str(initial),
        "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"contacts-{i}-{key}"] = value
    return data


def customer_data(**overrides):
    data = {"name": "Wayne Enterprises", "code": "C-900", "currency": "USD", "payment_terms_days": "45"}
    data.update(overrides)
    return data


def test_anonymous_is_sent_to_login(client, book):
    assert client.get("/customers/add/").status_code == 302
    assert client.get(f"/customers/{book['acme'].pk}/edit/").status_code == 302


def test_an_account_manager_cannot_edit_a_customer_they_do_not_see(client, book, am_alice):
    login(client, am_alice)

    assert client.get(f"/customers/{book['hooli'].pk}/edit/").status_code == 404
    response = client.post(
        f"/customers/{book['hooli'].pk}/edit/", {**customer_data(code="C-004"), **contacts_data()}
    )
    assert response.status_code == 404
    assert Customer.objects.get(pk=book["hooli"].pk).name == "Hooli"


def test_an_auditor_may_not_add_or_edit(client, book, auditor):
    login(client, auditor)

    assert client.get("/customers/add/").status_code == 403
    assert client.post("/customers/add/", {**customer_data(), **contacts_data()}).status_code == 403
    assert client.get(f"/customers/{book['acme'].pk}/edit/").status_code == 403
    assert not Customer.objects.filter(code="C-900").exists()


def test_the_list_offers_add_new_to_writers_only(client, book, am_alice, auditor):
    login(client, am_alice)
    assert "+ Add New" in client.get("/customers/").text
    login(client, auditor)
    assert "+ Add New" not in client.get("/customers/").text


def test_adding_a_customer_with_contacts_tags_and_viewers(client, book, ar_admin, am_alice, am_bob):
    Tag.objects.create(name="Key account")
    login(client, ar_admin)
    data = {
        **customer_data(account_manager=str(am_bob.pk), default_viewers=[str(am_alice.pk)],
                        tags=[str(Tag.objects.get().pk)], new_tags="Retail, key account"),
        **contacts_data(
            {"name": "Bruce", "email": "bruce@wayne.test", "phone": "+1 555", "whatsapp": "+1 556",
             "line_id": "bruce.w", "is_main": "on"},
            {"name": "Alfred", "email": "alfred@wayne.test"},
        ),
    }  # fmt: skip

    response = client.post("/customers/add/", data)

    customer = Customer.objects.get(code="C-900")
    assert response.status_code == 302 and response["Location"] == f"/customers/{customer.pk}/"
    assert (customer.name, customer.currency, customer.payment_terms_days) == ("Wayne Enterprises", "USD", 45)
    assert customer.account_manager == am_bob
    assert list(customer.default_viewers.all()) == [am_alice]
    assert sorted(t.name for t in customer.tags.all()) == ["Key account", "Retail"]
    assert customer.main_contact.name == "Bruce" and customer.main_contact.line_id == "bruce.w"
    assert customer.contacts.count() == 2
    kinds = set(customer.activities.values_list("kind", flat=True))
    assert kinds == {ActivityKind.CUSTOMER_CREATED, ActivityKind.ASSIGNMENT}
    assert customer.activities.get(kind=ActivityKind.CUSTOMER_CREATED).actor_user == ar_admin


def test_an_empty_account_manager_means_the_default_one(client, db, ar_admin):
    default = make_user("dee@example.com", "account_manager", is_default_account_manager=True)
    login(client, ar_admin)

    client.post("/customers/add/", {**customer_data(), **contacts_data()})

    assert Customer.objects.get(code="C-900").account_manager == default


def test_two_main_contacts_are_refused_with_a_clear_error(client, book, ar_admin):
    login(client, ar_admin)
    data = {
        **customer_data(),
        **contacts_data({"name": "A", "is_main": "on"}, {"name": "B", "is_main": "on"}),
    }

    response = client.post("/customers/add/", data)

    assert response.status_code == 200
    assert "Only one contact can be the main contact" in response.text
    assert not Customer.objects.filter(code="C-900").exists()


def test_a_duplicate_customer_id_is_refused(client, book, ar_admin):
    login(client, ar_admin)

    response = client.post("/customers/add/", {**customer_data(code="C-001"), **contacts_data()})

    assert response.status_code == 200 and "Another customer already has this customer ID." in response.text
    assert Customer.objects.filter(code="C-001").count() == 1


def test_an_account_manager_edits_their_customer_and_the_timeline_says_what_changed(
    client, book, am_alice, am_bob
):
    acme = book["acme"]
    ann = acme.contacts.get()
    login(client, am_alice)
    data = {
        **customer_data(name="Acme Holdings", code="C-001", currency="SGD", payment_terms_days="30",
                        account_manager=str(am_bob.pk)),
        **contacts_data(
            {"id": str(ann.pk), "customer": str(acme.pk), "name": "Ann Acme", "email": "ann@acme.test"},
            {"name": "Carl New", "email": "carl@acme.test", "is_main": "on"},
            initial=1,
        ),
    }  # fmt: skip

    response = client.post(f"/customers/{acme.pk}/edit/", data)

    assert response.status_code == 302, (
        response.context["form"].errors,
        response.context["contacts"].errors,
        response.context["contacts"].non_form_errors(),
    )
    acme.refresh_from_db()
    assert acme.name == "Acme Holdings" and acme.account_manager == am_bob
    assert acme.main_contact.name == "Carl New"
    assert not Contact.objects.get(pk=ann.pk).is_main
    changed = acme.activities.get(kind=ActivityKind.CUSTOMER_CHANGED)
    assert changed.data["name"] == "Acme Pte Ltd → Acme Holdings" and changed.actor_user == am_alice
    assignment = acme.activities.get(kind=ActivityKind.ASSIGNMENT)
    assert (assignment.data["from"], assignment.data["to"]) == (str(am_alice), str(am_bob))


def test_removing_a_contact(client, book, admin_user):
    acme = book["acme"]
    ann = acme.contacts.get()
    login(client, admin_user)
    data = {
        **customer_data(name=acme.name, code="C-001", currency="SGD", payment_terms_days="30",
                        account_manager=str(acme.account_manager_id)),
        **contacts_data({"id": str(ann.pk), "customer": str(acme.pk), "name": "Ann Acme", "DELETE": "on"}, initial=1),
    }  # fmt: skip

    assert client.post(f"/customers/{acme.pk}/edit/", data).status_code == 302
    assert not acme.contacts.exists()
    assert "Ann Acme" in acme.activities.get(kind=ActivityKind.CUSTOMER_CHANGED).data["contacts removed"]


@pytest.mark.parametrize("role_fixture", ["admin_user", "ar_admin", "collections_user"])
def test_roles_that_see_everything_can_edit_any_customer(client, book, role_fixture, request):
    login(client, request.getfixturevalue(role_fixture))

    assert client.get(f"/customers/{book['hooli'].pk}/edit/").status_code == 200


def test_saving_without_changes_writes_no_timeline(client, book, admin_user):
    acme = book["acme"]
    ann = acme.contacts.get()
    login(client, admin_user)
    data = {
        **customer_data(name=acme.name, code="C-001", currency="SGD", payment_terms_days="30",
                        account_manager=str(acme.account_manager_id)),
        **contacts_data({"id": str(ann.pk), "customer": str(acme.pk), "name": "Ann Acme",
                         "email": "ann@acme.test", "is_main": "on"}, initial=1),
    }  # fmt: skip
    before = Activity.objects.count()

    assert client.post(f"/customers/{acme.pk}/edit/", data).status_code == 302
    assert Activity.objects.count() == before


def test_a_customer_is_put_on_a_workflow_from_its_form(client, book, am_alice):
    from customers.models import Activity, ActivityKind
    from workflows.models import Workflow

    gentle = Workflow.objects.create(name="Gentle reminders")
    acme = book["acme"]
    assert client.login(email=am_alice.email, password=PASSWORD)
    form = client.get(f"/customers/{acme.pk}/edit/")
    assert "The default workflow" in form.text

    client.post(
        f"/customers/{acme.pk}/edit/",
        {
            "name": acme.name, "code": acme.code, "currency": acme.currency, "payment_terms_days": 30,
            "account_manager": am_alice.pk, "workflow": gentle.pk,
            "contacts-TOTAL_FORMS": 0, "contacts-INITIAL_FORMS": 0,
        },
    )  # fmt: skip

    acme.refresh_from_db()
    assert acme.workflow == gentle
    change = Activity.objects.filter(customer=acme, kind=ActivityKind.CUSTOMER_CHANGED).latest("created_at")
    assert "Gentle reminders" in str(change.data)
