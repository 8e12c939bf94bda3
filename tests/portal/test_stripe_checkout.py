"""Pay online: a Stripe Checkout Session created over real HTTP against a local stand-in for api.stripe.com."""

import urllib.parse
from decimal import Decimal

import pytest

from invoices.models import Payment
from portal.models import StripeCheckout
from tests.workflows.local_servers import HttpServer

pytestmark = pytest.mark.django_db

SESSION = {
    "id": "cs_test_a1",
    "url": "https://checkout.stripe.com/c/pay/cs_test_a1",
    "object": "checkout.session",
}


@pytest.fixture
def stripe_api(settings):
    server = HttpServer(default=(200, SESSION)).start()
    settings.STRIPE_SECRET_KEY = "sk_test_secret"
    settings.STRIPE_API_BASE = server.url
    yield server
    server.stop()


def form_of(request):
    return dict(urllib.parse.parse_qsl(request["body"].decode()))


def test_pay_page_lists_the_open_invoices_with_what_is_due(ann_client, portal_book, stripe_api):
    page = ann_client.get("/portal/pay/").content.decode()
    assert "Pay by card" in page
    assert "A-101 · SGD\u00a0200.00 due" in page and "A-102 · SGD\u00a0250.00 due" in page
    assert "A-105" not in page and "G-900" not in page  # paid, and another customer's


def test_customer_pays_two_invoices_through_stripe_checkout(ann_client, portal_book, stripe_api):
    d15, d45 = portal_book["invoices"]["d15"], portal_book["invoices"]["d45"]
    response = ann_client.post("/portal/pay/", {"invoices": [d15.pk, d45.pk]})
    assert response.status_code == 302 and response["Location"] == SESSION["url"]

    [request] = stripe_api.requests
    assert request["path"] == "/v1/checkout/sessions"
    assert request["headers"]["Authorization"] == "Bearer sk_test_secret"
    assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    sent = form_of(request)
    assert sent["mode"] == "payment" and sent["customer_email"] == "ann@acme.test"
    assert sent["line_items[0][price_data][currency]"] == "sgd"
    assert sent["line_items[0][price_data][unit_amount]"] == "20000"  # 200.00 in cents
    assert sent["line_items[0][price_data][product_data][name]"] == "Invoice A-101"
    assert sent["line_items[1][price_data][unit_amount]"] == "25000"  # 300.00 less 50.00 paid
    assert sent["success_url"].endswith("/portal/pay/done/?session_id={CHECKOUT_SESSION_ID}")
    assert sent["cancel_url"].endswith("/portal/pay/")

    checkout = StripeCheckout.objects.get()
    assert checkout.session_id == "cs_test_a1" and checkout.customer == portal_book["acme"]
    assert checkout.contact == portal_book["ann"]
    assert (checkout.amount, checkout.currency) == (Decimal("450.00"), "SGD")
    assert checkout.allocations == [
        {"invoice_id": d15.pk, "amount": "200.00"},
        {"invoice_id": d45.pk, "amount": "250.00"},
    ]
    assert not Payment.objects.filter(source="portal").exists()  # only the webhook records a payment

    done = ann_client.get("/portal/pay/done/?session_id=cs_test_a1")
    assert done.status_code == 200 and "is being confirmed" in done.content.decode()


def test_stripe_refusing_the_session_is_shown_and_nothing_is_kept(ann_client, portal_book, stripe_api):
    stripe_api.replies.append((400, {"error": {"message": "Invalid currency: sgdx"}}))
    response = ann_client.post("/portal/pay/", {"invoices": [portal_book["invoices"]["d15"].pk]})
    assert response.status_code == 400
    assert "Stripe refused the payment (Invalid currency: sgdx)." in response.content.decode()
    assert not StripeCheckout.objects.exists()


def test_stripe_unreachable_is_a_clear_message(ann_client, portal_book, settings):
    server = HttpServer().start()
    server.stop()  # nothing listens there any more
    settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE = "sk_test_secret", server.url
    response = ann_client.post("/portal/pay/", {"invoices": [portal_book["invoices"]["d15"].pk]})
    assert response.status_code == 400
    assert "Online payment is not available right now." in response.content.decode()
    assert not StripeCheckout.objects.exists()


def test_another_customers_invoice_cannot_be_paid(ann_client, portal_book, stripe_api):
    response = ann_client.post("/portal/pay/", {"invoices": [portal_book["other_invoice"].pk]})
    assert response.status_code == 400
    assert not stripe_api.requests and not StripeCheckout.objects.exists()


def test_choosing_nothing_is_refused(ann_client, portal_book, stripe_api):
    response = ann_client.post("/portal/pay/", {})
    assert response.status_code == 400 and "Choose at least one invoice to pay." in response.content.decode()
    assert not stripe_api.requests


def test_another_customers_checkout_is_not_shown(ann_client, portal_book):
    StripeCheckout.objects.create(
        session_id="cs_globex", customer=portal_book["globex"], amount=Decimal("999.00"), currency="USD"
    )
    assert ann_client.get("/portal/pay/done/?session_id=cs_globex").status_code == 404


def test_invoices_of_two_currencies_are_paid_separately(ann_client, portal_book, stripe_api):
    from tests.portal.conftest import make_invoice

    usd = make_invoice(portal_book["acme"], "A-USD-1", days_overdue=3, total="80.00")
    usd.currency = "USD"
    usd.save(update_fields=["currency"])
    response = ann_client.post("/portal/pay/", {"invoices": [portal_book["invoices"]["d15"].pk, usd.pk]})
    assert response.status_code == 400
    assert "Pay invoices of one currency at a time (you chose SGD, USD)." in response.content.decode()
    assert not stripe_api.requests and not StripeCheckout.objects.exists()


def test_amounts_go_to_stripe_in_its_minor_units():
    from portal.stripe import from_minor_units, to_minor_units

    assert to_minor_units(Decimal("1234.50"), "SGD") == 123450
    assert to_minor_units(Decimal("1500"), "JPY") == 1500  # yen have no hundredths at Stripe
    assert from_minor_units(123450, "SGD") == Decimal("1234.50")
    assert from_minor_units(1500, "JPY") == Decimal("1500.00")
