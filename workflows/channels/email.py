"""Email through Django's email backend (SMTP by default): text and HTML parts, attachments.

From: the workflow's address, else the company's sender address, else DEFAULT_FROM_EMAIL.
Reply-To: the workflow's reply-to address, else the customer's account manager.
"""

import contextlib
import smtplib
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection

from peakflo.models import Company

from .base import ChannelError, ChannelUncertain, recipients


def addresses(text):
    return [part.strip() for part in (text or "").replace(";", ",").split(",") if part.strip()]


class EmailChannel:
    name = "Email"

    def __init__(self, connection=None, company=None):
        # One connection may serve a whole batch; it is opened on the first message.
        self.connection = connection
        self.company = company

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.connection is not None:
            with contextlib.suppress(Exception):  # a connection that broke need not close cleanly
                self.connection.close()
            self.connection = None

    def from_address(self, message):
        workflow = message.action.workflow if message.action_id else None
        if workflow and workflow.from_email:
            return workflow.from_email
        company = self.company or Company.load()
        return company.sender_email or settings.DEFAULT_FROM_EMAIL

    def reply_to(self, message):
        workflow = message.action.workflow if message.action_id else None
        if workflow and workflow.reply_to:
            return [workflow.reply_to]
        manager = message.customer.account_manager
        return [manager.email] if manager and manager.email else []

    def build(self, message, attachments=(), html=None):
        to = recipients(message)
        if not to:
            raise ChannelError("There is no email address to send this message to.")
        from_address = self.from_address(message)
        domain = from_address.rsplit("@", 1)[-1].strip(" >") or "peakflo.local"
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.body,
            from_email=from_address,
            to=to,
            cc=addresses(message.cc),
            bcc=addresses(message.bcc),
            reply_to=self.reply_to(message),
            headers={"Message-ID": make_msgid(idstring=f"peakflo.{message.pk}", domain=domain)},
        )
        if html:
            email.attach_alternative(html, "text/html")
        for filename, content, mimetype in attachments:
            email.attach(filename, content, mimetype)
        return email

    def send(self, message, attachments=(), *, html=None):
        email = self.build(message, attachments, html)
        try:
            if self.connection is None:
                self.connection = get_connection(fail_silently=False)
                self.connection.open()  # opened here, the backend keeps it open between messages
            sent = self.connection.send_messages([email])
        except smtplib.SMTPRecipientsRefused as error:
            self.close()
            refused = ", ".join(
                f"{address} ({code} {reason.decode(errors='replace')})"
                for address, (code, reason) in error.recipients.items()
            )
            raise ChannelError(f"The mail server refused {refused}.") from error
        except smtplib.SMTPResponseException as error:
            self.close()
            text = (
                error.smtp_error.decode(errors="replace")
                if isinstance(error.smtp_error, bytes)
                else error.smtp_error
            )
            # 4xx: try again later; 5xx: final.
            raise ChannelError(
                f"The mail server refused the message ({error.smtp_code} {text}).",
                retryable=400 <= error.smtp_code < 500,
            ) from error
        except TimeoutError as error:
            self.close()
            raise ChannelUncertain(
                "The mail server did not answer in time: check by hand whether it was sent."
            ) from error
        except smtplib.SMTPServerDisconnected as error:
            self.close()
            raise ChannelUncertain(
                f"The mail server closed the connection: {error}; check by hand."
            ) from error
        except (OSError, smtplib.SMTPException) as error:
            self.close()
            raise ChannelError(f"The mail server could not be reached: {error}", retryable=True) from error
        if not sent:
            raise ChannelError("The email backend did not send the message.")
        return email.extra_headers["Message-ID"]
