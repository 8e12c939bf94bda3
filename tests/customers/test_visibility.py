"""Customer.objects.visible_to(user): the one visibility rule, for every role."""

import pytest
from django.contrib.auth.models import AnonymousUser

from customers.models import Customer
from invoices.models import Invoice
from tests.conftest import make_user

ALL = {"C-001", "C-002", "C-003", "C-004", "C-005"}


def visible_codes(user):
    return sorted(Customer.objects.visible_to(user).values_list("code", flat=True))


@pytest.mark.parametrize("role_fixture", ["admin_user", "ar_admin", "collections_user", "auditor"])
def test_roles_that_see_every_customer(request, book, role_fixture):
    user = request.getfixturevalue(role_fixture)
    assert visible_codes(user) == sorted(ALL)


def test_superuser_sees_every_customer(book):
    root = make_user("root@example.com", "account_manager", is_superuser=True)
    assert visible_codes(root) == sorted(ALL)


def test_account_manager_sees_own_and_viewed_customers(book, am_alice, am_bob):
    # Alice manages C-001 and C-002 and is a default viewer of Bob's C-003
    assert visible_codes(am_alice) == ["C-001", "C-002", "C-003"]
    assert visible_codes(am_bob) == ["C-003", "C-004"]


def test_account_manager_does_not_see_others(book, am_alice):
    hidden = Customer.objects.visible_to(am_alice).filter(code__in=["C-004", "C-005"])
    assert not hidden.exists()


def test_account_manager_with_nothing_sees_nothing(book):
    carol = make_user("carol@example.com", "account_manager")
    assert visible_codes(carol) == []


def test_no_duplicates_when_manager_is_also_viewer(book, am_alice):
    book["acme"].default_viewers.add(am_alice)
    visible = Customer.objects.visible_to(am_alice)
    assert visible.count() == 3
    assert sorted(visible.values_list("code", flat=True)) == ["C-001", "C-002", "C-003"]


def test_invoices_follow_their_customer(book, am_alice):
    numbers = sorted(Invoice.objects.visible_to(am_alice).values_list("number", flat=True))
    assert numbers == ["INV-0001", "INV-0002", "INV-0003"]


@pytest.mark.parametrize("role_fixture", ["admin_user", "am_alice"])
def test_inactive_users_see_nothing(request, book, role_fixture):
    user = request.getfixturevalue(role_fixture)
    user.is_active = False
    user.save()
    assert visible_codes(user) == []


def test_anonymous_sees_nothing(book):
    assert visible_codes(AnonymousUser()) == []
