"""Pay online through Stripe Checkout, without Stripe's SDK: one form-encoded POST creates a Checkout
Session, and the signed webhook records the payment exactly once.

Stripe's API: POST {STRIPE_API_BASE}/v1/checkout/sessions with the secret key as a Bearer token.
Webhook signatures: the Stripe-Signature header is `t=<unix time>,v1=<hex>[,v1=…]` where each v1 is
HMAC-SHA256(webhook secret, "<t>.<raw body>"); events older than five minutes are refused as replays.
"""

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from invoices.models import Invoice, InvoiceStatus, PaymentMethod, PaymentSource
from invoices.services import money, record_payment
from peakflo.models import Company

from .models import CheckoutStatus, StripeCheckout, StripeEvent

log = logging.getLogger(__name__)

SIGNATURE_TOLERANCE_SECONDS = 5 * 60
HTTP_TIMEOUT_SECONDS = 20
# Stripe counts these currencies in whole units, every other one in hundredths.
ZERO_DECIMAL_CURRENCIES = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
PAID_EVENTS = {"checkout.session.completed", "checkout.session.async_payment_succeeded"}
EXPIRED_EVENTS = {"checkout.session.expired"}


class StripeError(Exception):
    """Stripe could not be reached or refused the request; the message can be shown to the customer."""


class SignatureError(Exception):
    """The webhook's Stripe-Signature header is missing, malformed, wrong or too old."""


def is_configured():
    return bool(settings.STRIPE_SECRET_KEY)


def to_minor_units(amount, currency):
    factor = 1 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 100
    return int((Decimal(amount) * factor).to_integral_value())


def from_minor_units(units, currency):
    factor = 1 if currency.upper() in ZERO_DECIMAL_CURRENCIES else 100
    return money(Decimal(units) / factor)


def checkout_allocations(*, customer, invoices):
    """What a checkout for these invoices pays: [(invoice, amount due)], one currency, all open."""
    invoices = sorted(invoices, key=lambda invoice: invoice.pk)
    if not invoices:
        raise ValidationError({"invoices": "Choose at least one invoice to pay."})
    for invoice in invoices:
        if invoice.customer_id != customer.pk:
            raise ValidationError({"invoices": f"Invoice {invoice.number} is not yours."})
        if invoice.status != InvoiceStatus.OPEN or invoice.amount_due <= 0:
            raise ValidationError({"invoices": f"Invoice {invoice.number} has nothing left to pay."})
    currencies = sorted({invoice.currency for invoice in invoices})
    if len(currencies) > 1:
        raise ValidationError(
            {"invoices": f"Pay invoices of one currency at a time (you chose {', '.join(currencies)})."}
        )
    return [(invoice, invoice.amount_due) for invoice in invoices]


def _session_form(*, contact, allocations, success_url, cancel_url):
    currency = allocations[0][0].currency
    fields = [
        ("mode", "payment"),
        ("success_url", success_url),
        ("cancel_url", cancel_url),
        ("client_reference_id", f"customer-{contact.customer_id}"),
        ("metadata[customer]", str(contact.customer_id)),
        ("metadata[invoices]", ",".join(invoice.number for invoice, _ in allocations)[:500]),
    ]
    if contact.email:
        fields.append(("customer_email", contact.email))
    for i, (invoice, amount) in enumerate(allocations):
        prefix = f"line_items[{i}]"
        fields += [
            (f"{prefix}[quantity]", "1"),
            (f"{prefix}[price_data][currency]", currency.lower()),
            (f"{prefix}[price_data][unit_amount]", str(to_minor_units(amount, currency))),
            (f"{prefix}[price_data][product_data][name]", f"Invoice {invoice.number}"),
        ]
    return urllib.parse.urlencode(fields).encode()


def _post(path, body):
    request = urllib.request.Request(
        settings.STRIPE_API_BASE + path,
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {settings.STRIPE_SECRET_KEY}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Idempotency-Key": str(uuid.uuid4()),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as error:
        try:
            detail = json.loads(error.read()).get("error", {}).get("message", "")
        except ValueError:
            detail = ""
        log.warning("Stripe refused %s: HTTP %s %s", path, error.code, detail)
        raise StripeError(f"Stripe refused the payment ({detail or f'HTTP {error.code}'}).") from None
    except (urllib.error.URLError, TimeoutError, ValueError) as error:
        log.warning("Stripe unreachable for %s: %s", path, error)
        raise StripeError("Online payment is not available right now. Try again in a few minutes.") from None


def start_checkout(*, contact, invoices, success_url, cancel_url):
    """Create a Stripe Checkout Session for the contact's chosen invoices; returns the StripeCheckout.

    The amounts are fixed now, from what is due; the webhook allocates them when Stripe says paid.
    """
    if not is_configured():
        raise StripeError("Online payment is not configured.")
    allocations = checkout_allocations(customer=contact.customer, invoices=invoices)
    form = _session_form(
        contact=contact, allocations=allocations, success_url=success_url, cancel_url=cancel_url
    )
    session = _post("/v1/checkout/sessions", form)
    if not session.get("id") or not session.get("url"):
        raise StripeError("Stripe answered without a checkout page. Try again in a few minutes.")
    checkout = StripeCheckout.objects.create(
        session_id=session["id"],
        customer=contact.customer,
        contact=contact,
        allocations=[{"invoice_id": invoice.pk, "amount": str(amount)} for invoice, amount in allocations],
        amount=sum((amount for _, amount in allocations), Decimal(0)),
        currency=allocations[0][0].currency,
    )
    checkout.url = session["url"]  # not stored: Stripe's page for this session, valid for a day
    return checkout


def verify_signature(payload, header, *, secret, now=None, tolerance=SIGNATURE_TOLERANCE_SECONDS):
    """Raise SignatureError unless `header` signs `payload` (bytes) with `secret`, recently."""
    if not secret:
        raise SignatureError("The webhook signing secret (STRIPE_WEBHOOK_SECRET) is not set.")
    if not header:
        raise SignatureError("No Stripe-Signature header.")
    timestamp, signatures = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not timestamp.isdigit() or not signatures:
        raise SignatureError("The Stripe-Signature header has no timestamp or no v1 signature.")
    signed = timestamp.encode() + b"." + payload
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, signature) for signature in signatures):
        raise SignatureError("The Stripe-Signature does not match the payload.")
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > tolerance:
        raise SignatureError("The Stripe-Signature timestamp is too old (a replay?).")


def sign(payload, *, secret, timestamp=None):
    """A Stripe-Signature header for `payload`, as Stripe would send it (used by tests and local tools)."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    signature = hmac.new(secret.encode(), str(timestamp).encode() + b"." + payload, hashlib.sha256)
    return f"t={timestamp},v1={signature.hexdigest()}"


@transaction.atomic
def handle_event(event):
    """Act on one verified webhook event, once: returns what was done, in a few words.

    The checkout row is locked first, then the event id is claimed (unique): a second delivery,
    even one racing the first, finds the event taken or the checkout already paid and changes nothing.
    """
    event_id, event_type = event.get("id"), event.get("type", "")
    session = (event.get("data") or {}).get("object") or {}
    if not event_id:
        raise ValidationError("The event has no id.")
    if event_type not in PAID_EVENTS | EXPIRED_EVENTS:
        return "ignored"
    checkout = StripeCheckout.objects.select_for_update().filter(session_id=session.get("id") or "").first()
    try:
        with transaction.atomic():
            StripeEvent.objects.create(event_id=event_id, event_type=event_type[:100])
    except IntegrityError:
        return "already handled"
    if checkout is None:
        return "not one of ours"
    if event_type in EXPIRED_EVENTS:
        if checkout.status == CheckoutStatus.OPEN:
            checkout.status = CheckoutStatus.EXPIRED
            checkout.save(update_fields=["status"])
        return "expired"
    if session.get("payment_status") not in ("paid", "no_payment_required"):
        return "awaiting payment"  # a delayed method: async_payment_succeeded follows
    if checkout.payment_id is not None:
        return "already paid"
    checkout.payment = _record_checkout_payment(checkout, session)
    checkout.status = CheckoutStatus.PAID
    checkout.save(update_fields=["payment", "status"])
    return "paid"


def _record_checkout_payment(checkout, session):
    currency = checkout.currency
    amount = checkout.amount
    if session.get("amount_total") is not None and (session.get("currency") or "").upper() == currency:
        paid = from_minor_units(session["amount_total"], currency)
        if paid != amount:
            log.warning(
                "Stripe session %s paid %s %s, expected %s", checkout.session_id, paid, currency, amount
            )
        amount = paid
    wanted = {int(part["invoice_id"]): Decimal(part["amount"]) for part in checkout.allocations}
    # Locked in id order as record_payment does; what was paid meanwhile by other means is not paid twice.
    invoices = (
        Invoice.objects.select_for_update().filter(pk__in=wanted, customer=checkout.customer).order_by("pk")
    )
    allocations, left = [], amount
    for invoice in invoices:
        if invoice.status != InvoiceStatus.OPEN or invoice.currency != currency:
            continue
        part = min(wanted[invoice.pk], invoice.amount_due, left)
        if part > 0:
            allocations.append((invoice, part))
            left -= part
    return record_payment(
        customer=checkout.customer,
        date=Company.load().today(),
        amount=amount,
        currency=currency,
        allocations=allocations,
        method=PaymentMethod.CARD,
        reference=f"Stripe {session.get('payment_intent') or checkout.session_id}"[:200],
        source=PaymentSource.PORTAL,
    )
