"""The portal's one email: the sign-in links asked for on the sign-in page."""

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string

from peakflo.models import Company


def sign_in_links(*, to, name, links):
    """`links`: [(customer, url)], one per customer the address is a contact of."""
    context = {
        "company": Company.load(),
        "name": name,
        "links": links,
        "minutes": settings.PORTAL_SIGN_IN_LINK_MINUTES,
    }
    subject = "".join(render_to_string("portal/emails/sign_in_subject.txt", context).splitlines()).strip()
    message = EmailMultiAlternatives(
        subject, render_to_string("portal/emails/sign_in.txt", context), settings.DEFAULT_FROM_EMAIL, [to]
    )
    message.attach_alternative(render_to_string("portal/emails/sign_in.html", context), "text/html")
    message.send()
