"""Email through Django's email backend (SMTP by default): text and HTML parts, attachments.

From: the workflow's address, else the company's sender address, else DEFAULT_FROM_EMAIL.
Reply-To: the workflow's reply-to address, else the customer's account manager.

With Django's SMTP backend the channel writes the MIME message itself and hands the bytes to the
backend's open SMTP connection: Django's EmailMessage builds it through the standard library's
header registry, about 5 ms a message, several times the cost of sending it. The written form is
plain RFC 5322/2045: folded address headers, RFC 2047 encoded words for a non-ASCII subject or
name, each body part 7bit when it is short-lined ASCII and quoted-printable otherwise. Messages with
attachments, and every other backend (anymail, console, locmem), go through Django's EmailMessage.
"""

import binascii
import contextlib
import logging
import smtplib
import uuid
from email.header import Header
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from functools import lru_cache

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.utils import timezone

from peakflo.models import Company

from .base import ChannelError, ChannelUncertain, recipients

log = logging.getLogger(__name__)

MAX_LINE = 998  # RFC 5322: longer lines must be encoded
SHORT_HEADER = 78


def addresses(text):
    return [part.strip() for part in (text or "").replace(";", ",").split(",") if part.strip()]


@lru_cache(maxsize=4096)  # the same sender and reply-to addresses head every message of a batch
def mailbox(value):
    """(header form, envelope address) of one address; ValueError naming it when it is not one."""
    if "\r" in value or "\n" in value:
        raise ValueError(f"“{value.strip()}” is not an email address.")
    name, address = parseaddr(value)
    local, at, domain = address.rpartition("@")
    if not (local and at and domain) or any(c.isspace() for c in address):
        raise ValueError(f"“{value}” is not an email address.")
    if not local.isascii():
        raise ValueError(f"“{value}” cannot be sent to: its part before the @ is not ASCII.")
    if not domain.isascii():
        domain = domain.encode("idna").decode("ascii")
        address = f"{local}@{domain}"
    return formataddr((name, address), charset="utf-8"), address


def _subject_header(subject):
    subject = " ".join(subject.splitlines())
    if subject.isascii() and len(subject) + len("Subject: ") <= SHORT_HEADER:
        return subject
    charset = "us-ascii" if subject.isascii() else "utf-8"
    return Header(subject, charset, header_name="Subject").encode(linesep="\n")


def _text_part(text, subtype):
    """A text/* part's headers and body: 7bit when it can be, quoted-printable otherwise."""
    data = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    if data.isascii() and max(map(len, data.split(b"\n"))) <= MAX_LINE:
        encoding, body = "7bit", data
    else:
        encoding, body = "quoted-printable", binascii.b2a_qp(data, istext=True)
    head = f'Content-Type: text/{subtype}; charset="utf-8"\nContent-Transfer-Encoding: {encoding}\n\n'
    return head.encode("ascii") + body


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

    def _message_id(self, message, from_address):
        domain = from_address.rsplit("@", 1)[-1].strip(" >") or "peakflo.local"
        return make_msgid(idstring=f"peakflo.{message.pk}", domain=domain)

    def build(self, message, attachments=(), html=None):
        """The message as Django's EmailMultiAlternatives, for any email backend."""
        to = recipients(message)
        if not to:
            raise ChannelError("There is no email address to send this message to.")
        from_address = self.from_address(message)
        mail = EmailMultiAlternatives(
            subject=message.subject,
            body=message.body,
            from_email=from_address,
            to=to,
            cc=addresses(message.cc),
            bcc=addresses(message.bcc),
            reply_to=self.reply_to(message),
            headers={"Message-ID": self._message_id(message, from_address)},
        )
        if html:
            mail.attach_alternative(html, "text/html")
        for filename, content, mimetype in attachments:
            mail.attach(filename, content, mimetype)
        return mail

    def build_bytes(self, message, attachments=(), html=None):
        """(envelope sender, envelope recipients, message bytes with CRLF line ends, Message-ID).

        Raises ChannelError for a message without recipients or with an address that is not one.
        """
        try:
            return self._build_bytes(message, attachments, html)
        except ValueError as error:  # an address that is not one: final, nothing was sent
            raise ChannelError(str(error)) from error

    def _build_bytes(self, message, attachments, html):
        to, cc, bcc = recipients(message), addresses(message.cc), addresses(message.bcc)
        if not to:
            raise ChannelError("There is no email address to send this message to.")
        if attachments:
            mail = self.build(message, attachments, html)
            envelope = [mailbox(address)[1] for address in to + cc + bcc]
            data = mail.message(policy=SMTP_POLICY).as_bytes()
            return mailbox(mail.from_email)[1], envelope, data, mail.extra_headers["Message-ID"]
        from_address = self.from_address(message)
        message_id = self._message_id(message, from_address)
        sender_header, sender = mailbox(from_address)
        to_boxes, cc_boxes = [mailbox(a) for a in to], [mailbox(a) for a in cc]
        envelope = [box[1] for box in to_boxes + cc_boxes] + [mailbox(a)[1] for a in bcc]
        reply_to = [mailbox(a)[0] for a in self.reply_to(message)]
        now = timezone.localtime() if settings.EMAIL_USE_LOCALTIME else timezone.now()
        headers = [
            ("Subject", _subject_header(message.subject)),
            ("From", sender_header),
            ("To", ",\n ".join(box[0] for box in to_boxes)),
            ("Cc", ",\n ".join(box[0] for box in cc_boxes)),
            ("Reply-To", ",\n ".join(reply_to)),
            ("Date", format_datetime(now)),
            ("Message-ID", message_id),
            ("MIME-Version", "1.0"),
        ]
        head = "".join(f"{name}: {value}\n" for name, value in headers if value)
        if html:
            # Quoted-printable writes every "=" as "=3D", so an encoded part never holds the boundary.
            boundary = f"==============={uuid.uuid4().hex}=="
            mark = f"--{boundary}".encode("ascii")
            data = b"".join(
                [
                    f'{head}Content-Type: multipart/alternative; boundary="{boundary}"\n\n'.encode(),
                    mark + b"\n" + _text_part(message.body, "plain") + b"\n",
                    mark + b"\n" + _text_part(html, "html") + b"\n",
                    mark + b"--\n",
                ]
            )
        else:
            data = head.encode() + _text_part(message.body, "plain")
        return sender, envelope, data.replace(b"\n", b"\r\n"), message_id

    def _open(self):
        if self.connection is None:
            self.connection = get_connection(fail_silently=False)
            self.connection.open()  # opened here, the backend keeps it open between messages
        return self.connection

    def send(self, message, attachments=(), *, html=None):
        try:
            connection = self._open()
            if isinstance(connection, SmtpBackend):
                sender, envelope, data, message_id = self.build_bytes(message, attachments, html)
                refused = connection.connection.sendmail(sender, envelope, data)
                if refused:  # some recipients took it: it went out, so it is never sent again
                    log.warning("message %s: the mail server refused %s", message.pk, ", ".join(refused))
                return message_id
            mail = self.build(message, attachments, html)
            sent = connection.send_messages([mail])
        except ChannelError:
            raise
        except smtplib.SMTPRecipientsRefused as error:
            self.close()
            refused = ", ".join(
                f"{address} ({code} {reason.decode(errors='replace')})"
                for address, (code, reason) in error.recipients.items()
            )
            # Every recipient refused, so nobody has it: 4xx for all of them means try again later.
            later = all(400 <= code < 500 for code, _ in error.recipients.values())
            raise ChannelError(f"The mail server refused {refused}.", retryable=later) from error
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
        return mail.extra_headers["Message-ID"]
