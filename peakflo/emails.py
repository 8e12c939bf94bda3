"""One function per email; each renders templates/emails/<name>_subject.txt, <name>.txt and <name>.html."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from .models import Company
from .tokens import invitation_token_generator


def _send(name, to, context):
    context = {"company": Company.load(), "site_url": settings.SITE_URL, **context}
    subject = "".join(render_to_string(f"emails/{name}_subject.txt", context).splitlines()).strip()
    text = render_to_string(f"emails/{name}.txt", context)
    html = render_to_string(f"emails/{name}.html", context)
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to])
    message.attach_alternative(html, "text/html")
    message.send()


def _absolute(viewname, **kwargs):
    # Links are built from SITE_URL, never from the request's Host header.
    return settings.SITE_URL + reverse(viewname, kwargs=kwargs)


def password_reset(*, user, token):
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    link = _absolute("password_reset_confirm", uidb64=uid, token=token)
    _send("password_reset", user.email, {"user": user, "link": link})


def invitation(*, user, invited_by):
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    link = _absolute("accept_invitation", uidb64=uid, token=invitation_token_generator.make_token(user))
    _send("invitation", user.email, {"user": user, "invited_by": invited_by, "link": link})


def task_digest(*, owner, overdue, due_today, today):
    """The morning list of an owner's overdue and today's open tasks."""
    context = {
        "owner": owner,
        "overdue": [(task, _absolute("task_detail", pk=task.pk)) for task in overdue],
        "due_today": [(task, _absolute("task_detail", pk=task.pk)) for task in due_today],
        "today": today,
        "link": settings.SITE_URL + reverse("actions") + "?due=open",
    }
    _send("task_digest", owner.email, context)


def dispute_raised(*, dispute):
    """Tell the customer's account manager that one of their invoices is disputed."""
    manager = dispute.customer.account_manager
    if manager is None or not manager.email:
        return
    context = {
        "manager": manager,
        "dispute": dispute,
        "invoice": dispute.invoice,
        "customer": dispute.customer,
        "link": _absolute("dispute_detail", pk=dispute.pk),
    }
    _send("dispute_raised", manager.email, context)


def _manager_of(customer):
    manager = customer.account_manager
    return manager if manager is not None and manager.email else None


def portal_document_uploaded(*, kept, kind_label, contact):
    """Tell the account manager the customer uploaded a document (proof of payment, tax certificate)."""
    manager = _manager_of(kept.customer)
    if manager is None:
        return
    context = {
        "manager": manager,
        "kept": kept,
        "kind_label": kind_label,
        "contact": contact,
        "customer": kept.customer,
        "invoice": kept.invoice,
        "link": _absolute("customer_file", pk=kept.customer_id, file_pk=kept.pk),
    }
    _send("portal_document_uploaded", manager.email, context)


def portal_question(*, message):
    """Tell the account manager the customer asked a question in the portal."""
    manager = _manager_of(message.customer)
    if manager is None:
        return
    context = {
        "manager": manager,
        "message": message,
        "customer": message.customer,
        "contact": message.author_contact,
        "invoice": message.invoice,
        "link": _absolute("customer_portal_messages", pk=message.customer_id),
    }
    _send("portal_question", manager.email, context)


def portal_answer(*, message, to):
    """Tell the contact who asked that the account manager answered; the answer itself stays in the portal."""
    context = {
        "message": message,
        "customer": message.customer,
        "link": settings.SITE_URL + reverse("portal_messages"),
    }
    _send("portal_answer", to, context)


def portal_paid_notice(*, customer, contact, amount, currency, date, reference, invoices, kept=None):
    """Tell the account manager the customer says they paid by bank transfer; nothing is recorded by it."""
    manager = _manager_of(customer)
    if manager is None:
        return
    context = {
        "manager": manager,
        "customer": customer,
        "contact": contact,
        "amount": amount,
        "currency": currency,
        "date": date,
        "reference": reference,
        "invoices": invoices,
        "kept": kept,
        "link": _absolute("customer_detail", pk=customer.pk),
    }
    _send("portal_paid_notice", manager.email, context)
