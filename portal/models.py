from django.conf import settings
from django.db import models

from customers.models import Customer


class LinkPurpose(models.TextChoices):
    SIGN_IN = "sign_in", "Sign-in link"
    REMINDER = "reminder", "Link inside a reminder"


class PortalLink(models.Model):
    """A magic link into the portal for one customer. Only the token's hash is stored."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="portal_links")
    contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.CASCADE, related_name="portal_links"
    )
    purpose = models.CharField(max_length=10, choices=LinkPurpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    # The customer's portal_generation when the link was made: raising it revokes the link.
    generation = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.get_purpose_display()} for {self.customer}"


class LinkRequest(models.Model):
    """One request for a sign-in link, kept to rate-limit requests by address and by client."""

    email = models.EmailField()
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    requested_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["email", "requested_at"], name="link_request_email_idx")]

    def __str__(self):
        return f"Link requested for {self.email}"


class PortalMessage(models.Model):
    """The customer's question thread with their account manager, shown on both sides."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="portal_messages")
    invoice = models.ForeignKey(
        "invoices.Invoice", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["customer", "created_at"], name="portal_message_customer_idx")]

    def __str__(self):
        return f"Portal message from {self.customer}"

    @property
    def from_customer(self):
        return self.author_user_id is None


class CheckoutStatus(models.TextChoices):
    OPEN = "open", "Open"
    PAID = "paid", "Paid"
    EXPIRED = "expired", "Expired"


class StripeCheckout(models.Model):
    """A Stripe Checkout Session started in the portal for one or several invoices."""

    session_id = models.CharField(max_length=255, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="stripe_checkouts")
    contact = models.ForeignKey("customers.Contact", null=True, blank=True, on_delete=models.SET_NULL)
    # [{"invoice_id": 1, "amount": "12.50"}, …]: what the session pays, fixed when it was created.
    allocations = models.JSONField(default=list)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=CheckoutStatus.choices, default=CheckoutStatus.OPEN)
    payment = models.OneToOneField(
        "invoices.Payment", null=True, blank=True, on_delete=models.SET_NULL, related_name="stripe_checkout"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Stripe checkout {self.session_id} ({self.status})"


class StripeEvent(models.Model):
    """A Stripe webhook event already handled: a second delivery of the same event changes nothing."""

    event_id = models.CharField(max_length=255, unique=True)
    event_type = models.CharField(max_length=100)
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Stripe event {self.event_id}"
