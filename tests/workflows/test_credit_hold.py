"""Credit limits put customers on credit hold and lift it: set-based, on the timeline, on the pages."""

import datetime as dt
from decimal import Decimal

import pytest

from customers.models import Activity, ActivityKind, Customer
from invoices.models import Invoice, InvoiceStatus
from peakflo.models import Company
from tests.conftest import PASSWORD
from workflows import tasks
from workflows.credit import update_credit_holds
from workflows.models import Workflow

TODAY = dt.date(2026, 11, 20)


@pytest.fixture
def company(db):
    company = Company.load()
    company.base_currency = "SGD"
    company.save()
    return company


@pytest.fixture
def default_workflow(db):
    workflow = Workflow.objects.get(is_default=True)
    workflow.credit_limit_amount, workflow.credit_limit_days = Decimal("1000.00"), None
    workflow.save()
    return workflow


def invoice(customer, number, amount, *, currency="SGD", rate="1", days_overdue=0, status=InvoiceStatus.OPEN):
    due = TODAY - dt.timedelta(days=days_overdue) if days_overdue else TODAY + dt.timedelta(days=10)
    return Invoice.objects.create(
        number=number,
        customer=customer,
        currency=currency,
        exchange_rate=Decimal(rate),
        issue_date=due - dt.timedelta(days=30),
        due_date=due,
        subtotal=Decimal(amount),
        total=Decimal(amount),
        amount_due=Decimal(0) if status == InvoiceStatus.PAID else Decimal(amount),
        amount_paid=Decimal(amount) if status == InvoiceStatus.PAID else Decimal(0),
        status=status,
    )


def holds(customer):
    return list(
        Activity.objects.filter(customer=customer, kind=ActivityKind.CREDIT_HOLD)
        .order_by("created_at", "id")
        .values_list("data__hold", flat=True)
    )


def test_owing_more_than_the_limit_in_base_currency_puts_on_hold(company, default_workflow, am_alice):
    # USD 600 + USD 200 at 1.35 = SGD 1,080: more than SGD 1,000, though each is below it.
    customer = Customer.objects.create(
        code="CR-1", name="Big Spender", currency="USD", account_manager=am_alice
    )
    invoice(customer, "CR-1-A", "600.00", currency="USD", rate="1.35")
    invoice(customer, "CR-1-B", "200.00", currency="USD", rate="1.35")

    assert update_credit_holds(TODAY) == (1, 0)

    customer.refresh_from_db()
    assert customer.credit_hold
    assert customer.credit_hold_since is not None
    [entry] = Activity.objects.filter(customer=customer, kind=ActivityKind.CREDIT_HOLD)
    assert entry.data["hold"] == "on"
    assert entry.data["reason"] == (
        "Put on credit hold: owes SGD\u00a01,080.00, more than the credit limit of SGD\u00a01,000.00."
    )


def test_within_the_limit_no_hold_and_nothing_recorded(company, default_workflow, am_alice):
    customer = Customer.objects.create(code="CR-2", name="Modest", account_manager=am_alice)
    invoice(customer, "CR-2-A", "1000.00")  # exactly the limit is not more than it
    invoice(customer, "CR-2-B", "5000.00", status=InvoiceStatus.PAID)
    invoice(customer, "CR-2-C", "5000.00", status=InvoiceStatus.VOID)

    assert update_credit_holds(TODAY) == (0, 0)
    customer.refresh_from_db()
    assert not customer.credit_hold
    assert holds(customer) == []


def test_an_invoice_overdue_longer_than_the_days_limit_puts_on_hold(company, default_workflow, am_alice):
    default_workflow.credit_limit_amount, default_workflow.credit_limit_days = None, 30
    default_workflow.save()
    late = Customer.objects.create(code="CR-3", name="Late Payer", account_manager=am_alice)
    invoice(late, "CR-3-A", "10.00", days_overdue=31)
    just_in_time = Customer.objects.create(code="CR-4", name="Just In Time", account_manager=am_alice)
    invoice(just_in_time, "CR-4-A", "10.00", days_overdue=30)

    update_credit_holds(TODAY)

    late.refresh_from_db()
    just_in_time.refresh_from_db()
    assert late.credit_hold and not just_in_time.credit_hold
    [entry] = Activity.objects.filter(customer=late, kind=ActivityKind.CREDIT_HOLD)
    assert "an invoice 31 days overdue, more than the limit of 30 days" in entry.data["reason"]


def test_the_hold_is_recorded_once_and_lifted_when_paid(company, default_workflow, am_alice):
    customer = Customer.objects.create(code="CR-5", name="Payer", account_manager=am_alice)
    big = invoice(customer, "CR-5-A", "1500.00")

    update_credit_holds(TODAY)
    update_credit_holds(TODAY)  # nothing changed: nothing written
    assert holds(customer) == ["on"]

    Invoice.objects.filter(pk=big.pk).update(status=InvoiceStatus.PAID, amount_due=0, amount_paid=big.total)
    assert update_credit_holds(TODAY) == (0, 1)

    customer.refresh_from_db()
    assert not customer.credit_hold
    assert customer.credit_hold_since is None
    assert holds(customer) == ["on", "lifted"]


def test_a_customer_follows_their_own_workflows_limit_not_the_defaults(company, default_workflow, am_alice):
    generous = Workflow.objects.create(name="Key accounts", credit_limit_amount=Decimal("100000"))
    no_limit = Workflow.objects.create(name="No limit")
    key = Customer.objects.create(
        code="CR-6", name="Key Account", workflow=generous, account_manager=am_alice
    )
    free = Customer.objects.create(code="CR-7", name="Free", workflow=no_limit, account_manager=am_alice)
    plain = Customer.objects.create(code="CR-8", name="Plain", account_manager=am_alice)
    for customer in (key, free, plain):
        invoice(customer, f"{customer.code}-A", "5000.00")

    update_credit_holds(TODAY)

    assert list(Customer.objects.filter(credit_hold=True).values_list("code", flat=True)) == ["CR-8"]


def test_removing_the_limit_lifts_the_holds_it_set(company, default_workflow, am_alice):
    customer = Customer.objects.create(code="CR-9", name="Held", account_manager=am_alice)
    invoice(customer, "CR-9-A", "5000.00")
    update_credit_holds(TODAY)
    default_workflow.credit_limit_amount = None
    default_workflow.save()

    update_credit_holds(TODAY)

    customer.refresh_from_db()
    assert not customer.credit_hold
    assert holds(customer) == ["on", "lifted"]


def test_the_engine_tick_updates_credit_holds(company, default_workflow, am_alice):
    customer = Customer.objects.create(code="CR-10", name="Ticked", account_manager=am_alice)
    invoice(customer, "CR-10-A", "5000.00")

    tasks.tick()

    customer.refresh_from_db()
    assert customer.credit_hold


# The pages


def test_the_badge_shows_on_the_customer_page_and_in_the_list(client, company, default_workflow, am_alice):
    held = Customer.objects.create(code="CR-11", name="Held Co", account_manager=am_alice)
    free = Customer.objects.create(code="CR-12", name="Free Co", account_manager=am_alice)
    invoice(held, "CR-11-A", "5000.00")
    invoice(free, "CR-12-A", "10.00")
    update_credit_holds(TODAY)
    client.login(email=am_alice.email, password=PASSWORD)

    badge = '<span class="badge badge-danger" title="Past their workflow'
    assert badge in client.get(f"/customers/{held.pk}/").text
    assert badge not in client.get(f"/customers/{free.pk}/").text
    listing = client.get("/customers/").text
    row_of = {name: listing.split(name)[1].split("</td>")[0] for name in ("Held Co", "Free Co")}
    assert "Credit hold" in row_of["Held Co"]
    assert "Credit hold" not in row_of["Free Co"]


def test_an_ar_admin_sets_the_limits_on_the_workflow_page(client, company, ar_admin):
    workflow = Workflow.objects.create(name="Limited")
    client.login(email=ar_admin.email, password=PASSWORD)
    page = client.get(f"/settings/workflows/{workflow.pk}/").text
    assert "Credit limit (SGD)" in page
    assert "Credit limit (days overdue)" in page
    assert "/settings/holidays/" in page

    response = client.post(
        f"/settings/workflows/{workflow.pk}/",
        {
            "name": "Limited",
            "contact_delay_days": 3,
            "business_days_only": "on",
            "credit_limit_amount": "25000.50",
            "credit_limit_days": "45",
        },
    )

    assert response.status_code == 302
    workflow.refresh_from_db()
    assert workflow.credit_limit_amount == Decimal("25000.50")
    assert workflow.credit_limit_days == 45


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("credit_limit_amount", "0", "The credit limit must be more than zero (not 0)"),
        ("credit_limit_amount", "-5", "The credit limit must be more than zero (not -5)"),
        ("credit_limit_days", "0", "Days overdue must be at least 1"),
        ("credit_limit_amount", "lots", "Enter a number."),
    ],
)
def test_a_bad_limit_is_refused_with_a_clear_message(client, company, ar_admin, field, value, message):
    workflow = Workflow.objects.create(name="Limited", credit_limit_amount=Decimal("500"))
    client.login(email=ar_admin.email, password=PASSWORD)
    data = {"name": "Limited", "contact_delay_days": 3, field: value}

    response = client.post(f"/settings/workflows/{workflow.pk}/", data)

    assert response.status_code == 200
    assert message in response.text
    workflow.refresh_from_db()
    assert workflow.credit_limit_amount == Decimal("500")
    assert workflow.credit_limit_days is None


def test_an_account_manager_cannot_change_the_limits(client, company, am_alice):
    workflow = Workflow.objects.create(name="Limited")
    client.login(email=am_alice.email, password=PASSWORD)
    response = client.post(
        f"/settings/workflows/{workflow.pk}/",
        {"name": "Limited", "contact_delay_days": 3, "credit_limit_amount": "1"},
    )
    assert response.status_code == 403
    workflow.refresh_from_db()
    assert workflow.credit_limit_amount is None


def test_run_engine_by_hand_decides_credit_holds_too(company, default_workflow, am_alice):
    from io import StringIO

    from django.core.management import call_command

    customer = Customer.objects.create(code="CR-9", name="Hand Run", currency="SGD", account_manager=am_alice)
    invoice(customer, "CR-9-A", "1500.00")
    out = StringIO()

    call_command("run_engine", "--today", TODAY.isoformat(), stdout=out)

    assert "Credit holds: 1 put on, 0 lifted." in out.getvalue()
    customer.refresh_from_db()
    assert customer.credit_hold
