"""Shared fixtures: a user of every role and a small book of customers and invoices."""

import datetime as dt
from decimal import Decimal

import pytest

from customers.models import Contact, Customer
from invoices.models import Invoice
from peakflo.models import Role, User

PASSWORD = "correct-horse-battery-staple"


def make_user(email, role, **fields):
    return User.objects.create_user(
        email=email, password=PASSWORD, name=email.split("@")[0].title(), role=role, **fields
    )


@pytest.fixture
def admin_user(db):
    return make_user("admin@example.com", Role.ADMIN)


@pytest.fixture
def ar_admin(db):
    return make_user("ar@example.com", Role.AR_ADMIN)


@pytest.fixture
def collections_user(db):
    return make_user("collections@example.com", Role.COLLECTIONS)


@pytest.fixture
def auditor(db):
    return make_user("auditor@example.com", Role.AUDITOR)


@pytest.fixture
def am_alice(db):
    return make_user("alice@example.com", Role.ACCOUNT_MANAGER)


@pytest.fixture
def am_bob(db):
    return make_user("bob@example.com", Role.ACCOUNT_MANAGER)


@pytest.fixture
def book(db, am_alice, am_bob):
    """Two customers of Alice, one of Bob on which Alice is a default viewer, one nobody manages."""
    acme = Customer.objects.create(
        code="C-001", name="Acme Pte Ltd", currency="SGD", account_manager=am_alice
    )
    globex = Customer.objects.create(code="C-002", name="Globex", currency="USD", account_manager=am_alice)
    initech = Customer.objects.create(code="C-003", name="Initech", currency="THB", account_manager=am_bob)
    initech.default_viewers.add(am_alice)
    hooli = Customer.objects.create(code="C-004", name="Hooli", currency="IDR", account_manager=am_bob)
    orphan = Customer.objects.create(code="C-005", name="Umbrella", currency="SGD")
    Contact.objects.create(customer=acme, name="Ann Acme", email="ann@acme.test", is_main=True)
    today = dt.date.today()
    invoices = [
        Invoice.objects.create(
            number=f"INV-{i:04d}",
            customer=customer,
            currency=customer.currency,
            issue_date=today - dt.timedelta(days=40),
            due_date=today - dt.timedelta(days=10),
            subtotal=Decimal("100.00"),
            tax=Decimal("9.00"),
            total=Decimal("109.00"),
            amount_due=Decimal("109.00"),
        )
        for i, customer in enumerate([acme, globex, initech, hooli, orphan], start=1)
    ]
    return {
        "acme": acme,
        "globex": globex,
        "initech": initech,
        "hooli": hooli,
        "orphan": orphan,
        "invoices": invoices,
    }


@pytest.fixture
def celery_processes(transactional_db, tmp_path):
    """Start real workers and beat with .worker() / .beat(); they are stopped after the test."""
    from tests.celery_processes import CeleryProcesses

    processes = CeleryProcesses(tmp_path)
    yield processes
    processes.stop()


@pytest.fixture
def smtp(settings):
    """A real SMTP server on a local port (aiosmtpd), with Django's SMTP backend pointed at it."""
    from tests.workflows.local_servers import SmtpServer

    server = SmtpServer().start()
    server.use_in(settings)
    yield server
    server.stop()
