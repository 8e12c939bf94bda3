"""Settings → Dispute reasons: admins and AR admins add, rename, reorder, retire and restore; others may not."""

import pytest
from django.urls import reverse

from disputes.models import Dispute, DisputeReason
from disputes.services import raise_dispute
from tests.conftest import PASSWORD

COMMON = ["Delivery not made", "Double charged", "Incorrect amount charged", "Product was damaged or lost"]


def login(client, user):
    assert client.login(email=user.email, password=PASSWORD)


def offered_names():
    return list(DisputeReason.objects.filter(is_retired=False).values_list("name", flat=True))


def reason(name):
    return DisputeReason.objects.get(name=name)


def test_the_migration_loads_the_four_common_reasons_in_order(db):
    assert offered_names() == COMMON


@pytest.mark.parametrize("role_fixture", ["admin_user", "ar_admin"])
def test_editors_see_the_list_in_order_with_its_controls(db, client, role_fixture, request):
    login(client, request.getfixturevalue(role_fixture))

    response = client.get(reverse("dispute_reasons"))

    assert response.status_code == 200
    names = [r.name for r in response.context["offered"]]
    assert names == COMMON
    assert response.context["can_change"]
    assert "Add reason" in response.text and "Retire" in response.text


def test_the_settings_index_links_to_the_reasons_except_for_account_managers(client, ar_admin, am_alice):
    login(client, ar_admin)
    assert reverse("dispute_reasons") in client.get(reverse("settings_index")).text
    login(client, am_alice)
    assert reverse("dispute_reasons") not in client.get(reverse("settings_index")).text


def test_add_puts_the_new_reason_last(client, ar_admin):
    login(client, ar_admin)

    response = client.post(reverse("dispute_reason_add"), {"name": "  Wrong   purchase order "}, follow=True)

    assert offered_names() == [*COMMON, "Wrong purchase order"]
    assert "“Wrong purchase order” is offered last" in response.text


def test_a_duplicate_or_empty_name_is_refused_with_its_value_and_nothing_changes(client, ar_admin):
    login(client, ar_admin)

    duplicate = client.post(reverse("dispute_reason_add"), {"name": "double CHARGED"}, follow=True)
    empty = client.post(reverse("dispute_reason_add"), {"name": "   "}, follow=True)

    assert "“double CHARGED” is already a reason." in duplicate.text
    assert "Give the reason a name." in empty.text
    assert offered_names() == COMMON


def test_rename_keeps_the_reason_on_its_disputes(client, ar_admin, book):
    damaged = reason("Product was damaged or lost")
    dispute = raise_dispute(invoice=book["invoices"][0], reason=damaged, actor=ar_admin)
    login(client, ar_admin)

    response = client.post(
        reverse("dispute_reason_rename", args=[damaged.pk]), {"name": "Goods damaged in transit"}, follow=True
    )

    assert "“Product was damaged or lost” is now “Goods damaged in transit”." in response.text
    dispute.refresh_from_db()
    assert dispute.reason.name == "Goods damaged in transit"


def test_rename_to_another_reasons_name_is_refused(client, ar_admin):
    login(client, ar_admin)

    response = client.post(
        reverse("dispute_reason_rename", args=[reason("Double charged").pk]),
        {"name": "Delivery not made"},
        follow=True,
    )

    assert "“Delivery not made” is already a reason." in response.text
    assert offered_names() == COMMON


def test_up_and_down_reorder_the_dropdown(client, admin_user):
    login(client, admin_user)

    client.post(
        reverse("dispute_reason_move", args=[reason("Incorrect amount charged").pk]), {"direction": "up"}
    )
    assert offered_names() == ["Delivery not made", "Incorrect amount charged", "Double charged", COMMON[3]]

    client.post(reverse("dispute_reason_move", args=[reason("Delivery not made").pk]), {"direction": "down"})
    assert offered_names() == ["Incorrect amount charged", "Delivery not made", "Double charged", COMMON[3]]

    # The first cannot go higher: nothing moves.
    client.post(
        reverse("dispute_reason_move", args=[reason("Incorrect amount charged").pk]), {"direction": "up"}
    )
    assert offered_names() == ["Incorrect amount charged", "Delivery not made", "Double charged", COMMON[3]]


def test_a_retired_reason_stays_on_old_disputes_and_is_no_longer_offered(client, ar_admin, book, am_alice):
    double = reason("Double charged")
    old = raise_dispute(invoice=book["invoices"][0], reason=double, actor=am_alice)
    login(client, ar_admin)

    client.post(reverse("dispute_reason_retire", args=[double.pk]), {"retired": "1"})

    assert "Double charged" not in offered_names()
    assert Dispute.objects.get(pk=old.pk).reason == double
    page = client.get(reverse("dispute_reasons"))
    assert [r.name for r in page.context["retired"]] == ["Double charged"]
    # The invoice page's Raise Dispute dropdown no longer offers it.
    invoice_page = client.get(reverse("invoice_detail", args=[book["invoices"][1].pk]))
    assert f'<option value="{double.pk}">' not in invoice_page.text
    # Restore offers it again, where it was.
    client.post(reverse("dispute_reason_retire", args=[double.pk]), {"retired": "0"})
    assert offered_names() == COMMON


def test_the_last_offered_reason_cannot_be_retired(client, ar_admin):
    login(client, ar_admin)
    for name in COMMON[:3]:
        client.post(reverse("dispute_reason_retire", args=[reason(name).pk]), {"retired": "1"})

    response = client.post(
        reverse("dispute_reason_retire", args=[reason(COMMON[3]).pk]), {"retired": "1"}, follow=True
    )

    assert offered_names() == [COMMON[3]]
    assert "is the last reason offered" in response.text


def test_account_managers_are_refused_the_page_and_every_change(client, am_alice):
    login(client, am_alice)
    double = reason("Double charged")

    assert client.get(reverse("dispute_reasons")).status_code == 403
    assert client.post(reverse("dispute_reason_add"), {"name": "Mine"}).status_code == 403
    assert client.post(reverse("dispute_reason_rename", args=[double.pk]), {"name": "X"}).status_code == 403
    assert (
        client.post(reverse("dispute_reason_retire", args=[double.pk]), {"retired": "1"}).status_code == 403
    )
    assert offered_names() == COMMON


@pytest.mark.parametrize("role_fixture", ["auditor", "collections_user"])
def test_auditors_and_collections_read_the_list_but_cannot_change_it(db, client, role_fixture, request):
    login(client, request.getfixturevalue(role_fixture))
    double = reason("Double charged")

    page = client.get(reverse("dispute_reasons"))

    assert page.status_code == 200 and not page.context["can_change"]
    assert "Double charged" in page.text and "Add reason" not in page.text and "Retire" not in page.text
    assert client.post(reverse("dispute_reason_add"), {"name": "Mine"}).status_code == 403
    assert (
        client.post(reverse("dispute_reason_move", args=[double.pk]), {"direction": "up"}).status_code == 403
    )
    assert (
        client.post(reverse("dispute_reason_retire", args=[double.pk]), {"retired": "1"}).status_code == 403
    )
    assert offered_names() == COMMON


def test_anonymous_is_sent_to_login(client, db):
    response = client.get(reverse("dispute_reasons"))
    assert response.status_code == 302 and "/login" in response["Location"]
