"""manage.py seed_demo: the demo company, repeatable and consistent; the large mode in small."""

import io

import pytest
from django.core.management import call_command
from django.db.models import Count, F, Q

from customers.models import Activity, ActivityKind, Contact, Customer
from invoices.models import CreditNote, CreditNoteStatus, Invoice, InvoiceLine, Payment, PaymentAllocation
from invoices.selectors import inconsistent_invoices, overallocated_payments
from peakflo.models import Company, Role, User
from workflows.models import Workflow

pytestmark = pytest.mark.django_db


def seed(*args):
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def bucket(days_past_due):
    for name, upper in [("current", 0), ("1-30", 30), ("31-60", 60), ("61-90", 90)]:
        if days_past_due <= upper:
            return name
    return "90+"


def counts():
    return {
        model.__name__: model.objects.count()
        for model in (
            User,
            Customer,
            Contact,
            Invoice,
            InvoiceLine,
            Payment,
            PaymentAllocation,
            CreditNote,
            Activity,
        )
    }


@pytest.fixture
def seeded():
    return seed()


def test_demo_company_and_logins(seeded):
    company = Company.load()
    assert company.name == "Peakflo Demo Trading Pte Ltd"
    assert company.base_currency == "SGD"
    roles = dict(User.objects.values_list("email", "role"))
    assert roles["maya.tan@demo.peakflo.test"] == Role.ACCOUNT_MANAGER
    assert list(roles.values()).count(Role.ACCOUNT_MANAGER) == 3
    assert Role.AR_ADMIN in roles.values() and Role.ADMIN in roles.values()
    assert User.objects.get(is_default_account_manager=True).email == "maya.tan@demo.peakflo.test"
    admin = User.objects.get(email="daniel.wong@demo.peakflo.test")
    assert admin.check_password("peakflo-demo-2026") and admin.is_superuser
    assert "peakflo-demo-2026" in seeded and "maya.tan@demo.peakflo.test" in seeded
    assert Workflow.objects.get(is_default=True).name == "Standard reminders"


def test_customers_contacts_and_tags(seeded):
    assert Customer.objects.count() == 40
    assert set(Customer.objects.values_list("currency", flat=True)) == {"SGD", "IDR", "THB", "USD"}
    assert not Customer.objects.filter(account_manager=None).exists()
    assert Customer.objects.exclude(default_viewers=None).exists()
    assert Customer.objects.exclude(tags=None).exists()
    # every customer has exactly one main contact; Thai customers are reachable on LINE
    mains = Customer.objects.annotate(n=Count("contacts", filter=Q(contacts__is_main=True)))
    assert not mains.exclude(n=1).exists()
    assert Contact.objects.filter(customer__currency="THB").exclude(line_id="").exists()
    assert Contact.objects.exclude(whatsapp="").exists()
    assert Contact.objects.count() > 40


def test_invoices_in_every_bucket_and_currency(seeded):
    today = Company.load().today()
    assert 300 <= Invoice.objects.count() <= 500
    assert not Invoice.objects.filter(lines=None).exists()
    seen = {(i.currency, bucket((today - i.due_date).days)) for i in Invoice.objects.outstanding()}
    assert seen == {
        (c, b) for c in ("SGD", "IDR", "THB", "USD") for b in ("current", "1-30", "31-60", "61-90", "90+")
    }
    assert not Invoice.objects.filter(issue_date__gt=today).exists()
    # amounts plausible per currency: rupiah in millions
    idr = Invoice.objects.filter(currency="IDR")
    assert min(idr.values_list("total", flat=True)) >= 1_000_000
    assert all(0.00007 < rate < 0.0001 for rate in idr.values_list("exchange_rate", flat=True))


def test_payments_credit_notes_promises_and_timeline(seeded):
    assert Invoice.objects.filter(status="paid").exists()
    partial = [i for i in Invoice.objects.outstanding() if i.is_partially_paid]
    assert partial
    assert (
        Payment.objects.annotate(n=Count("allocations")).filter(n__gt=1).exists()
    )  # one transfer, two invoices
    statuses = set(CreditNote.objects.values_list("status", flat=True))
    assert {CreditNoteStatus.APPROVED, CreditNoteStatus.PENDING_APPROVAL} <= statuses
    approved = CreditNote.objects.filter(status=CreditNoteStatus.APPROVED)
    assert len(set(approved.values_list("approved_by", flat=True))) >= 2
    assert not approved.filter(approved_by=F("created_by")).exists()
    assert Customer.objects.exclude(promise_date=None).exists()
    kinds = set(Activity.objects.values_list("kind", flat=True))
    assert {
        ActivityKind.CUSTOMER_CREATED,
        ActivityKind.INVOICE_ISSUED,
        ActivityKind.PAYMENT,
        ActivityKind.INVOICE_PAID,
        ActivityKind.CREDIT_NOTE,
        ActivityKind.PROMISE_TO_PAY,
    } <= kinds


def test_consistent_and_repeatable(seeded):
    assert not inconsistent_invoices().exists()
    assert not overallocated_payments().exists()
    call_command("check_consistency", stdout=io.StringIO())
    before = counts()
    again = seed()
    assert counts() == before
    assert "0 created, 40 already there" in again


def test_large_mode_in_small():
    out = seed("--customers", "30", "--invoices", "400", "--batch-size", "150")
    assert "invoices 400 / 400" in out
    assert Customer.objects.filter(code__startswith="BULK-").count() == 30
    assert Contact.objects.filter(customer__code__startswith="BULK-", is_main=True).count() == 30
    bulk = Invoice.objects.filter(number__startswith="BULK-")
    assert bulk.count() == 400
    assert InvoiceLine.objects.filter(invoice__in=bulk).count() == 400
    assert set(bulk.values_list("currency", flat=True)) == {"SGD", "IDR", "THB", "USD"}
    open_share = bulk.filter(status="open").count() / 400
    assert 0.2 < open_share < 0.4
    assert not inconsistent_invoices().exists()
    assert not overallocated_payments().exists()

    before = counts()
    seed("--customers", "30", "--invoices", "400")
    assert counts() == before
    seed("--customers", "30", "--invoices", "500")  # carries on from where it stopped
    assert bulk.count() == 500
    assert not inconsistent_invoices().exists()
    # the ids it handed out itself leave the sequences ready for ordinary inserts
    Invoice.objects.create(
        number="AFTER-1",
        customer=Customer.objects.first(),
        currency="SGD",
        issue_date="2026-01-01",
        due_date="2026-01-31",
    )


def test_the_output_ends_with_a_working_payer_portal_link(seeded, client, settings):
    link = seeded.strip().splitlines()[-1].strip()
    customer = Customer.objects.get(code="C-1001")
    assert seeded.strip().splitlines()[-2].startswith(f"The payer portal as {customer.name}")

    path = link.removeprefix(settings.SITE_URL)
    signed_in = client.post(path, follow=True)

    assert signed_in.status_code == 200 and customer.name in signed_in.text
