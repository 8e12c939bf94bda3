"""The Stripe webhook: a signed checkout.session.completed records the payment once; anything unsigned,
badly signed or replayed is refused with 400 and changes nothing."""

import json
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from customers.models import Activity, ActivityKind
from invoices.models import InvoiceStatus, Payment, PaymentSource
from portal.models import CheckoutStatus, StripeCheckout, StripeEvent
from portal.stripe import sign

pytestmark = pytest.mark.django_db

SECRET = "whsec_test_secret"
URL = "/portal/stripe/webhook"


@pytest.fixture(autouse=True)
def webhook_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = SECRET


@pytest.fixture
def checkout(portal_book):
    d15, d45 = portal_book["invoices"]["d15"], portal_book["invoices"]["d45"]
    return StripeCheckout.objects.create(
        session_id="cs_test_paid",
        customer=portal_book["acme"],
        contact=portal_book["ann"],
        allocations=[{"invoice_id": d15.pk, "amount": "200.00"}, {"invoice_id": d45.pk, "amount": "250.00"}],
        amount=Decimal("450.00"),
        currency="SGD",
    )


def completed(event_id="evt_1", session_id="cs_test_paid", amount_total=45000, payment_status="paid"):
    return json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": "checkout.session.completed",
            "data": {
                "object": {
                    "id": session_id,
                    "object": "checkout.session",
                    "amount_total": amount_total,
                    "currency": "sgd",
                    "payment_status": payment_status,
                    "payment_intent": "pi_123",
                }
            },
        }
    ).encode()


def deliver(payload, signature=None, client=None):
    headers = {} if signature is None else {"HTTP_STRIPE_SIGNATURE": signature}
    return (client or Client()).post(URL, payload, content_type="application/json", **headers)


def nothing_changed(portal_book):
    d15 = portal_book["invoices"]["d15"]
    d15.refresh_from_db()
    return (
        not Payment.objects.filter(source=PaymentSource.PORTAL).exists()
        and not StripeEvent.objects.exists()
        and d15.amount_due == Decimal("200.00")
        and StripeCheckout.objects.get().status == CheckoutStatus.OPEN
    )


def test_a_signed_completed_session_records_the_payment_and_allocates_it(portal_book, checkout):
    payload = completed()
    response = deliver(payload, sign(payload, secret=SECRET))
    assert response.status_code == 200 and response.json()["result"] == "paid"

    payment = Payment.objects.get(source=PaymentSource.PORTAL)
    assert (payment.customer, payment.amount, payment.currency) == (
        portal_book["acme"],
        Decimal("450.00"),
        "SGD",
    )
    assert payment.method == "card" and payment.reference == "Stripe pi_123"
    assert {(a.invoice.number, a.amount) for a in payment.allocations.select_related("invoice")} == {
        ("A-101", Decimal("200.00")),
        ("A-102", Decimal("250.00")),
    }
    d15, d45 = portal_book["invoices"]["d15"], portal_book["invoices"]["d45"]
    d15.refresh_from_db()
    d45.refresh_from_db()
    assert (d15.status, d15.amount_due) == (InvoiceStatus.PAID, Decimal("0.00"))
    assert (d45.status, d45.amount_due) == (InvoiceStatus.PAID, Decimal("0.00"))
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.PAID and checkout.payment == payment
    assert Activity.objects.filter(kind=ActivityKind.PAYMENT, customer=portal_book["acme"]).count() == 1
    assert Activity.objects.filter(kind=ActivityKind.INVOICE_PAID).count() == 2


def test_the_same_event_delivered_twice_records_one_payment(portal_book, checkout):
    payload = completed()
    assert deliver(payload, sign(payload, secret=SECRET)).json()["result"] == "paid"
    again = deliver(payload, sign(payload, secret=SECRET))
    assert again.status_code == 200 and again.json()["result"] == "already handled"
    assert Payment.objects.filter(source=PaymentSource.PORTAL).count() == 1
    assert Activity.objects.filter(kind=ActivityKind.PAYMENT).count() == 1


def test_a_second_event_for_the_same_session_records_nothing(portal_book, checkout):
    first, second = completed("evt_1"), completed("evt_2")
    deliver(first, sign(first, secret=SECRET))
    response = deliver(second, sign(second, secret=SECRET))
    assert response.json()["result"] == "already paid"
    assert Payment.objects.filter(source=PaymentSource.PORTAL).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_at_the_same_moment_record_one_payment(portal_book, checkout):
    payload = completed()
    signature = sign(payload, secret=SECRET)
    results, barrier = [], threading.Barrier(2)

    def post():
        barrier.wait()
        try:
            results.append(deliver(payload, signature).json()["result"])
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["already handled", "paid"]
    assert Payment.objects.filter(source=PaymentSource.PORTAL).count() == 1


def test_unsigned_delivery_is_refused(portal_book, checkout):
    response = deliver(completed())
    assert response.status_code == 400 and "No Stripe-Signature header" in response.json()["error"]
    assert nothing_changed(portal_book)


def test_a_signature_made_with_another_secret_is_refused(portal_book, checkout):
    payload = completed()
    response = deliver(payload, sign(payload, secret="whsec_someone_else"))
    assert response.status_code == 400 and "does not match" in response.json()["error"]
    assert nothing_changed(portal_book)


def test_a_changed_body_under_a_good_signature_is_refused(portal_book, checkout):
    signature = sign(completed(amount_total=100), secret=SECRET)
    response = deliver(completed(amount_total=45000), signature)
    assert response.status_code == 400
    assert nothing_changed(portal_book)


def test_a_replayed_delivery_with_an_old_timestamp_is_refused(portal_book, checkout):
    payload = completed()
    ten_minutes_ago = int(time.time()) - 600
    response = deliver(payload, sign(payload, secret=SECRET, timestamp=ten_minutes_ago))
    assert response.status_code == 400 and "too old" in response.json()["error"]
    assert nothing_changed(portal_book)


def test_a_malformed_signature_header_is_refused(portal_book, checkout):
    response = deliver(completed(), "v1=abc")
    assert response.status_code == 400
    assert nothing_changed(portal_book)


def test_without_a_webhook_secret_nothing_is_accepted(portal_book, checkout, settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    payload = completed()
    response = deliver(payload, sign(payload, secret=""))
    assert response.status_code == 400
    assert nothing_changed(portal_book)


def test_the_webhook_needs_no_csrf_token_but_only_takes_post(portal_book, checkout):
    payload = completed()
    response = deliver(payload, sign(payload, secret=SECRET), client=Client(enforce_csrf_checks=True))
    assert response.status_code == 200
    assert Client().get(URL).status_code == 405


def test_a_session_still_awaiting_payment_records_nothing(portal_book, checkout):
    payload = completed(payment_status="unpaid")
    assert deliver(payload, sign(payload, secret=SECRET)).json()["result"] == "awaiting payment"
    assert not Payment.objects.filter(source=PaymentSource.PORTAL).exists()


def test_an_invoice_paid_meanwhile_by_other_means_is_not_paid_twice(portal_book, checkout):
    from invoices.services import mark_invoice_paid

    d15 = portal_book["invoices"]["d15"]
    mark_invoice_paid(invoice=d15, actor=None, date=d15.issue_date)
    payload = completed()
    assert deliver(payload, sign(payload, secret=SECRET)).json()["result"] == "paid"
    payment = Payment.objects.get(source=PaymentSource.PORTAL)
    # The money Stripe took is recorded in full; what no longer has an invoice to go to stays on account.
    assert payment.amount == Decimal("450.00")
    assert [(a.invoice.number, a.amount) for a in payment.allocations.all()] == [("A-102", Decimal("250.00"))]


def test_an_event_for_a_session_we_did_not_create_changes_nothing(portal_book, checkout):
    payload = completed(session_id="cs_someone_elses")
    assert deliver(payload, sign(payload, secret=SECRET)).json()["result"] == "not one of ours"
    assert not Payment.objects.filter(source=PaymentSource.PORTAL).exists()


def event(event_type, event_id, **session):
    return json.dumps(
        {"id": event_id, "type": event_type, "data": {"object": {"id": "cs_test_paid", **session}}}
    ).encode()


def test_a_delayed_payment_is_recorded_when_stripe_says_it_succeeded(portal_book, checkout):
    waiting = completed(payment_status="unpaid")
    deliver(waiting, sign(waiting, secret=SECRET))
    succeeded = event(
        "checkout.session.async_payment_succeeded",
        "evt_async",
        payment_status="paid",
        amount_total=45000,
        currency="sgd",
    )
    assert deliver(succeeded, sign(succeeded, secret=SECRET)).json()["result"] == "paid"
    assert Payment.objects.filter(source=PaymentSource.PORTAL).count() == 1


def test_an_expired_session_is_marked_and_records_nothing(portal_book, checkout):
    expired = event("checkout.session.expired", "evt_expired", payment_status="unpaid")
    assert deliver(expired, sign(expired, secret=SECRET)).json()["result"] == "expired"
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.EXPIRED
    assert not Payment.objects.filter(source=PaymentSource.PORTAL).exists()


def test_other_event_types_are_acknowledged_and_change_nothing(portal_book, checkout):
    other = event("customer.created", "evt_other")
    response = deliver(other, sign(other, secret=SECRET))
    assert response.status_code == 200 and response.json()["result"] == "ignored"
    assert nothing_changed(portal_book)


def test_a_signed_body_that_is_not_an_event_is_refused(portal_book, checkout):
    payload = b'["not", "an", "event"]'
    response = deliver(payload, sign(payload, secret=SECRET))
    assert response.status_code == 400
    assert nothing_changed(portal_book)
