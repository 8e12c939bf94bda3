"""The authorization matrix: every URL of the project, every kind of visitor, one table of answers.

The URL patterns are found by walking the resolver (included URLconfs and the Django admin too), so a
page added without a line in TABLE fails `test_every_url_pattern_has_a_rule` by name. Each pattern is
requested by nine visitors against one small book, with the URL's ids taken from that book, so the
object-level answers are real: Bob, a colleague account manager, must get 404 on Alice's customer.

The visitors: admin, ar_admin, collections, auditor (one user of each role); owner = Alice, account
manager of Acme; colleague = Bob, account manager of Globex only; viewer = Vera, an account manager who
is a default viewer of Acme; anon; portal_other = Gus, Globex's contact, signed in to the payer portal.

Answers are written as status codes, or as where a redirect goes: "login" (/login/), "portal"
(/portal/sign-in/), "admin_login" (/admin/login/), "to" (any other redirect: the action was done or
the page moved on). A refused POST must also leave every row of our apps as it was. A page that
answers Bob or Gus 200 (and its HTMX partial) must not show a word of Acme's rows, Excel cells included.
"""

import datetime as dt
import io
import re
import tempfile
from decimal import Decimal

import openpyxl
import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlencode, urlsafe_base64_encode

from accounting.models import Connection, SyncRun
from customers import timeline
from customers.models import Contact, Customer, CustomerFile, Tag
from disputes.models import Dispute, DisputeComment, DisputeReason
from invoices.models import CreditNote, CreditNoteStatus, Invoice, InvoiceLine, Payment, PaymentAllocation
from peakflo.models import Company, Holiday, ImportJob, Role, User
from portal.links import make_link
from portal.models import LinkPurpose, PortalMessage
from workflows.models import Action, Message, Task, Workflow

ACTORS = (
    "admin",
    "ar_admin",
    "collections",
    "owner",
    "colleague",
    "viewer",
    "auditor",
    "anon",
    "portal_other",
)
STAFF = ACTORS[:7]

# The apps whose rows a refused POST must leave untouched.
OUR_APPS = ("peakflo", "customers", "invoices", "workflows", "disputes", "portal", "accounting")


def answers(default=None, **by_actor):
    """One expected answer per actor: `default` for everyone not named."""
    unknown = set(by_actor) - set(ACTORS)
    assert not unknown, unknown
    return {actor: by_actor.get(actor, default) for actor in ACTORS}


# --- The rules ------------------------------------------------------------------------------------------
# Signed-in staff see it; the anonymous visitor and a portal contact (not a staff user) go to sign in.
STAFF_PAGE = answers(200, anon="login", portal_other="login")
# A staff page that changes data: an auditor (read-only) is refused.
STAFF_WRITE_PAGE = answers(200, auditor=403, anon="login", portal_other="login")
# Settings: the admin role only.
ADMIN_ONLY = answers(403, admin=200, anon="login", portal_other="login")
# One customer's data (customer, invoice, dispute, task…): outside Customer.objects.visible_to → 404.
CUSTOMER_SCOPED = answers(200, colleague=404, anon="login", portal_other="login")
# One customer's data that a write form shows: the colleague still 404, the auditor 403.
CUSTOMER_SCOPED_WRITE = answers(200, colleague=404, auditor=403, anon="login", portal_other="login")
# POST-only endpoints: GET is the wrong method for every signed-in staff user.
POST_ONLY = answers(405, anon="login", portal_other="login")
# POST-only, where the method is checked before anything else: 405 even to the anonymous visitor.
POST_ONLY_FIRST = answers(405)
# POST-only, where the auditor's read-only rule is checked before the method.
POST_ONLY_WRITE_FIRST = answers(405, auditor=403, anon="login", portal_other="login")
# POST-only admin actions: the role is checked before the method.
ADMIN_POST_ONLY = answers(403, admin=405, anon="login", portal_other="login")
# Workflows: every staff user reads them; admins and AR admins change them.
WORKFLOW_EDITORS = answers(403, admin=200, ar_admin=200, anon="login", portal_other="login")
# Company holidays: admins and AR admins.
HOLIDAY_EDITORS = WORKFLOW_EDITORS
# Settings → Integrations: admins manage, auditors may read the page and the sync log.
INTEGRATIONS_READ = answers(403, admin=200, auditor=200, anon="login", portal_other="login")
# Dispute reasons: kept by admins and AR admins, read by collections and auditors, not account managers.
REASON_PAGE = answers(200, owner=403, colleague=403, viewer=403, anon="login", portal_other="login")
REASON_POST_ONLY = answers(405, owner=403, colleague=403, viewer=403, anon="login", portal_other="login")
# Bulk work on many customers (bulk edit, mass assignment, customer upload): not for account managers.
BULK = answers(403, admin=200, ar_admin=200, collections=200, anon="login", portal_other="login")
# Revoking a customer's portal access: its account manager, AR admins and admins; the colleague 404.
REVOKE = answers(403, admin=200, ar_admin=200, owner=200, colleague=404, anon="login", portal_other="login")
# An import's progress page: the person who started it and admins; anyone else 404.
IMPORT_JOB = answers(404, admin=200, owner=200, anon="login", portal_other="login")
# The payer portal: staff users are not portal contacts; another customer's contact sees own data only.
PORTAL_LIST = answers("portal", portal_other=200)
PORTAL_OTHER_CUSTOMERS_OBJECT = answers("portal", portal_other=404)
PORTAL_POST_ONLY = answers("portal", portal_other=405)
# Pages for anyone (sign-in forms, health check).
PUBLIC = answers(200)
# The Django admin: the admin role only; everyone else is sent to the admin's own sign-in.
ADMIN_SITE = answers("admin_login", admin=200)

# What a POST by someone without the right answers (every row unchanged afterwards).
REFUSED_POST_ADMIN = answers(
    None, **{a: 403 for a in STAFF if a != "admin"}, anon="login", portal_other="login"
)
REFUSED_POST_WRITE = answers(None, auditor=403, anon="login", portal_other="login")
REFUSED_POST_SCOPED = answers(None, colleague=404, auditor=403, anon="login", portal_other="login")
REFUSED_POST_EDITORS = answers(
    None, **{a: 403 for a in STAFF if a not in ("admin", "ar_admin")}, anon="login", portal_other="login"
)
REFUSED_POST_BULK = answers(
    None, owner=403, colleague=403, viewer=403, auditor=403, anon="login", portal_other="login"
)
REFUSED_POST_REASONS = answers(
    None,
    collections=403,
    owner=403,
    colleague=403,
    viewer=403,
    auditor=403,
    anon="login",
    portal_other="login",
)
# Revoking portal access: the colleague 404; collections, a default viewer and the auditor 403.
REFUSED_REVOKE = answers(
    None, collections=403, colleague=404, viewer=403, auditor=403, anon="login", portal_other="login"
)
# Approving a credit note: not its creator (Alice), not an account manager; the service refuses, the
# page says why and goes back to the list, and nothing changes.
REFUSED_APPROVE = {**REFUSED_POST_SCOPED, "owner": "to", "viewer": "to"}
# Voiding a pending note: its creator or an approver; Vera (neither) is refused the same way.
REFUSED_VOID = {**REFUSED_POST_SCOPED, "viewer": "to"}
REFUSED_POST_PORTAL = answers(None, **{a: "portal" for a in STAFF}, anon="portal", portal_other=404)


def rule(get, *, post=None, query=None, **kwargs):
    """A line of the table: GET answers, refused-POST answers, the URL's ids and query from the book."""
    return {"get": get, "post": post, "kwargs": kwargs, "query": query or {}}


TABLE = {}  # filled below; key = "namespace:name", or the route for unnamed patterns


# --- Finding every pattern ------------------------------------------------------------------------------
def walk(resolver=None, prefix="", namespace=""):
    """(key, route, pattern) for every URL pattern, included URLconfs and the admin's too."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = namespace + (f"{entry.namespace}:" if entry.namespace else "")
            yield from walk(entry, route, inner)
        else:
            assert isinstance(entry, URLPattern)
            yield (f"{namespace}{entry.name}" if entry.name else route), route, entry


PATTERNS = {key: (route, entry) for key, route, entry in walk()}


# --- The book -------------------------------------------------------------------------------------------
def make_user(email, role):
    return User.objects.create_user(
        email=email, password="x-Authz-2026!", name=email.split("@")[0], role=role
    )


def build_book():
    """Alice's customer Acme (Vera is its default viewer) and Bob's customer Globex, each with a little of everything."""
    users = {
        "admin": make_user("admin@authz.test", Role.ADMIN),
        "ar_admin": make_user("ar@authz.test", Role.AR_ADMIN),
        "collections": make_user("collections@authz.test", Role.COLLECTIONS),
        "owner": make_user("alice@authz.test", Role.ACCOUNT_MANAGER),
        "colleague": make_user("bob@authz.test", Role.ACCOUNT_MANAGER),
        "viewer": make_user("vera@authz.test", Role.ACCOUNT_MANAGER),
        "auditor": make_user("auditor@authz.test", Role.AUDITOR),
    }
    today = Company.load().today()
    workflow = Workflow.objects.create(name="Authz workflow")
    action = Action.objects.create(
        workflow=workflow, name="Friendly reminder", days=3, subject="Due", body="Hi"
    )
    acme = Customer.objects.create(
        code="AZ-1", name="Acme Authz", currency="SGD", account_manager=users["owner"], workflow=workflow
    )
    acme.default_viewers.add(users["viewer"])
    globex = Customer.objects.create(
        code="AZ-2", name="Globex Authz", currency="USD", account_manager=users["colleague"]
    )
    tag = Tag.objects.create(name="authz")
    acme.tags.add(tag)
    ann = Contact.objects.create(customer=acme, name="Ann Acme", email="ann@acme.authz", is_main=True)
    gus = Contact.objects.create(customer=globex, name="Gus Globex", email="gus@globex.authz", is_main=True)

    def invoice(customer, number):
        return Invoice.objects.create(
            number=number,
            customer=customer,
            currency=customer.currency,
            issue_date=today - dt.timedelta(days=40),
            due_date=today - dt.timedelta(days=10),
            subtotal=Decimal("100.00"),
            total=Decimal("100.00"),
            amount_due=Decimal("100.00"),
        )

    acme_invoice, globex_invoice = invoice(acme, "AZ-INV-1"), invoice(globex, "AZ-INV-2")
    InvoiceLine.objects.create(
        invoice=acme_invoice,
        description="Authz services",
        unit_price=Decimal("100.00"),
        amount=Decimal("100.00"),
    )
    timeline.record(acme, "note", actor=users["owner"], data={"text": "Ann promised Friday"})
    customer_file = CustomerFile.objects.create(
        customer=acme,
        invoice=acme_invoice,
        file=ContentFile(b"remittance", name="remittance.txt"),
        name="remittance.txt",
        content_type="text/plain",
        size=10,
        uploaded_by=users["owner"],
    )
    reason = DisputeReason.objects.create(name="Authz: wrong amount")
    dispute = Dispute.objects.create(
        invoice=acme_invoice, customer=acme, reason=reason, raised_by_contact=ann, raised_at=timezone.now()
    )
    other_dispute = Dispute.objects.create(
        invoice=globex_invoice,
        customer=globex,
        reason=reason,
        raised_by_contact=gus,
        raised_at=timezone.now(),
    )
    comment = DisputeComment.objects.create(
        dispute=dispute,
        author_contact=ann,
        file=ContentFile(b"proof", name="proof.txt"),
        filename="proof.txt",
    )
    credit_note = CreditNote.objects.create(
        number="AZ-CN-1",
        customer=acme,
        invoice=acme_invoice,
        date=today,
        amount=Decimal("10.00"),
        currency="SGD",
        status=CreditNoteStatus.PENDING_APPROVAL,
        created_by=users["owner"],
    )
    payment = Payment.objects.create(customer=acme, date=today, amount=Decimal("5.00"), currency="SGD")
    PaymentAllocation.objects.create(payment=payment, invoice=acme_invoice, amount=Decimal("5.00"))
    task = Task.objects.create(
        customer=acme, invoice=acme_invoice, title="Call Ann", owner=users["owner"], due_on=today
    )
    message = Message.objects.create(
        customer=acme, channel="email", to="ann@acme.authz", subject="Due", body="Hi"
    )
    PortalMessage.objects.create(customer=acme, author_contact=ann, body="When is it due?")
    link = make_link(customer=acme, contact=ann, purpose=LinkPurpose.SIGN_IN)
    connection = Connection.objects.create(
        provider="xero", tenant_id="authz-tenant", connected_by=users["admin"]
    )
    sync_run = SyncRun.objects.create(connection=connection, trigger="manual", started_at=timezone.now())
    import_job = ImportJob.objects.create(
        kind="invoices", file=ContentFile(b"x", name="in.xlsx"), filename="in.xlsx", created_by=users["owner"]
    )
    holiday = Holiday.objects.create(date=today + dt.timedelta(days=30), name="Authz day")
    admin_only_rows(acme, today)
    return {
        "users": users,
        "customer": acme.pk,
        "other_customer": globex.pk,
        "contact": ann.pk,
        "other_contact": gus,
        "invoice": acme_invoice.pk,
        "other_invoice": globex_invoice.pk,
        "customer_file": customer_file.pk,
        "reason": reason.pk,
        "dispute": dispute.pk,
        "other_dispute": other_dispute.pk,
        "comment": comment.pk,
        "credit_note": credit_note.pk,
        "payment": payment.pk,
        "task": task.pk,
        "message": message.pk,
        "workflow": workflow.pk,
        "action": action.pk,
        "token": link.rstrip("/").rsplit("/", 1)[-1],
        "connection": connection.pk,
        "sync_run": sync_run.pk,
        "import_job": import_job.pk,
        "holiday": holiday.pk,
        "user": users["colleague"].pk,
        "owner_user": users["owner"].pk,
        "uidb64": urlsafe_base64_encode(force_bytes(users["colleague"].pk)),
        "bad_token": "set-password-token-that-is-wrong",
        "provider": "xero",
    }


def admin_only_rows(customer, today):
    """A row of each model that only the Django admin shows, so its change pages are asked for real."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django.contrib.auth.models import Group
    from django_celery_beat.models import (
        ClockedSchedule,
        CrontabSchedule,
        IntervalSchedule,
        PeriodicTask,
        SolarSchedule,
    )

    from peakflo.models import Heartbeat
    from portal.models import LinkRequest, StripeCheckout, StripeEvent
    from workflows.models import ActionRun

    Group.objects.get_or_create(name="authz")
    Heartbeat.objects.update_or_create(name="beat", defaults={"beat_at": timezone.now()})
    LinkRequest.objects.create(email="ann@acme.authz")
    StripeCheckout.objects.create(
        session_id="cs_authz", customer=customer, amount=Decimal("1.00"), currency="SGD"
    )
    StripeEvent.objects.create(event_id="evt_authz", event_type="checkout.session.completed")
    interval = IntervalSchedule.objects.create(every=5, period=IntervalSchedule.MINUTES)
    PeriodicTask.objects.create(name="authz", task="workflows.tasks.tick", interval=interval)
    ClockedSchedule.objects.create(clocked_time=timezone.now())
    CrontabSchedule.objects.create(minute="5")
    SolarSchedule.objects.create(event="sunrise", latitude=Decimal("1.35"), longitude=Decimal("103.8"))
    AccessAttempt.objects.create(username="x@authz.test", ip_address="127.0.0.1", failures_since_start=1)
    AccessLog.objects.create(username="x@authz.test", ip_address="127.0.0.1")
    AccessFailureLog.objects.create(username="x@authz.test", ip_address="127.0.0.1")
    action = Action.objects.first()
    ActionRun.objects.create(action=action, invoice=Invoice.objects.first(), due_on=today)


@pytest.fixture(scope="module")
def book(django_db_setup, django_db_blocker):
    """One book for the module, in a transaction rolled back at the end; each test runs in a savepoint."""
    media = tempfile.TemporaryDirectory(prefix="authz-media-")
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media.name), transaction.atomic():
        data = build_book()
        clients = {}
        for actor, user in data["users"].items():
            clients[actor] = Client()
            clients[actor].force_login(user)
        clients["anon"] = Client()
        clients["portal_other"] = Client()
        sign_in(clients["portal_other"], data["other_contact"])
        data["clients"] = clients
        yield data
        transaction.set_rollback(True)
    media.cleanup()


def sign_in(client, contact):
    """A contact of the other customer signs in as customers do: a sign-in link, then the button."""
    url = make_link(customer=contact.customer, contact=contact, purpose=LinkPurpose.SIGN_IN)
    response = client.post("/" + url.split("://", 1)[-1].split("/", 1)[1])
    assert response.status_code == 302, response.content[:300]


# --- Asking ---------------------------------------------------------------------------------------------
# Words that only Acme's rows carry: none may reach Bob (a colleague) or Gus (another customer's contact).
ACME_WORDS = ("Acme Authz", "AZ-INV-1", "AZ-CN-1", "ann@acme.authz", "Call Ann", "Ann promised Friday")
MUST_NOT_SEE_ACME = ("colleague", "portal_other")
# The sign-in link's page names the customer it was sent for: the unguessable token is the invitation.
NAMES_THE_CUSTOMER = {"portal_link"}
# Pages and exports where Alice sees her customer: the same page must not show it to Bob.
SHOWS_ACME_TO_ALICE = {
    "actions",
    "actions_export",
    "credit_note_invoice_options",
    "credit_notes",
    "credit_notes_export",
    "customers",
    "customers_export",
    "dashboard",
    "disputes",
    "disputes_export",
    "invoice_add",
    "invoices",
    "invoices_export",
    "payment_allocations",
    "payments",
    "payments_export",
    "report_customer_status",
    "report_customer_status_export",
    "report_invoice_status",
    "report_invoice_status_export",
}


def text_of(response):
    """What a person would read: the page, or every cell of a spreadsheet."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if response.get("Content-Type", "").startswith("application/vnd.openxmlformats"):
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
        return "\n".join(
            str(value)
            for sheet in workbook
            for row in sheet.iter_rows(values_only=True)
            for value in row
            if value
        )
    return content.decode("utf-8", "replace")


def answer_of(response):
    if response.status_code in (301, 302, 303):
        location = response["Location"]
        for prefix, name in (
            ("/admin/login/", "admin_login"),
            ("/login/", "login"),
            ("/portal/sign-in/", "portal"),
        ):
            if location.startswith(prefix):
                return name
        return "to"
    return response.status_code


def url_for(key, book):
    route, entry = PATTERNS[key]
    spec = TABLE[key]["kwargs"]
    values = {
        name: source(book) if callable(source) else book.get(source, source) for name, source in spec.items()
    }
    missing = set(entry.pattern.regex.groupindex) - set(values)
    assert not missing, f"{key}: the table gives no value for {sorted(missing)} in {route!r}"
    query = {name: book.get(source, source) for name, source in TABLE[key]["query"].items()}
    query = "?" + urlencode(query) if query else ""
    if entry.name:
        namespace = key.rsplit(":", 1)[0] + ":" if ":" in key else ""
        return reverse(namespace + entry.name, kwargs=values) + query
    path = route
    for name, value in values.items():
        path = path.replace(f"<path:{name}>", str(value)).replace(f"<{name}>", str(value))
        path = re.sub(rf"\(\?P<{name}>[^)]*\)", str(value), path)
    return "/" + path.replace("^", "").replace("$", "")


def rows_of_our_apps():
    """Every row of every model of our apps: a refused POST must leave all of them as they were."""
    return {
        model._meta.label: list(model.objects.order_by("pk").values())
        for model in apps.get_models()
        if model._meta.app_label in OUR_APPS and model._meta.label != "peakflo.Heartbeat"
    }


# --- The table ------------------------------------------------------------------------------------------
C, INV, DSP = "customer", "invoice", "dispute"
# Query strings that name Alice's customer or Alice herself: outside Bob's view they narrow nothing open.
ACME, ALICES = {"customer": C}, {"account_manager": "owner_user"}

TABLE.update(
    {
        # Public: sign-in and password pages, the health check (its code says whether the services are up).
        "healthz": rule(answers(200)),
        "login": rule(answers(200, **{a: "to" for a in STAFF})),
        "logout": rule(answers(405)),
        "password_reset": rule(PUBLIC),
        "password_reset_done": rule(PUBLIC),
        "password_reset_confirm": rule(PUBLIC, uidb64="uidb64", token="bad_token"),
        "password_reset_complete": rule(PUBLIC),
        "accept_invitation": rule(PUBLIC, uidb64="uidb64", token="bad_token"),
        "password_change": rule(STAFF_PAGE),
        "password_change_done": rule(STAFF_PAGE),
        "company_logo": rule(
            answers(404)
        ),  # the book's company has no logo: 404 for everyone, never an error
        # Webhooks: signed by the provider, not by a session; without a signature they are refused.
        "xero_webhook": rule(answers(405), post=answers(401)),
        "twilio_status": rule(answers(405), post=answers(403)),
        "portal_stripe_webhook": rule(answers(405), post=answers(400)),
        # Staff pages every signed-in staff user sees (their contents follow visible_to).
        "dashboard": rule(STAFF_PAGE, query=ALICES),
        "customers": rule(STAFF_PAGE),
        "customers_export": rule(STAFF_PAGE),
        "invoices": rule(STAFF_PAGE, query=ACME),
        "invoices_export": rule(STAFF_PAGE, query=ACME),
        "payments": rule(STAFF_PAGE, query=ACME),
        "payments_export": rule(STAFF_PAGE, query=ACME),
        "credit_notes": rule(STAFF_PAGE, query=ACME),
        "credit_notes_export": rule(STAFF_PAGE, query=ACME),
        "actions": rule(STAFF_PAGE, query=ACME),
        "actions_export": rule(STAFF_PAGE, query=ACME),
        "disputes": rule(STAFF_PAGE, query=ACME),
        "disputes_export": rule(STAFF_PAGE, query=ACME),
        "reports": rule(STAFF_PAGE),
        "report_invoice_status": rule(STAFF_PAGE),
        "report_invoice_status_export": rule(STAFF_PAGE),
        "report_customer_status": rule(STAFF_PAGE),
        "report_customer_status_export": rule(STAFF_PAGE),
        "report_dashboard_aging": rule(STAFF_PAGE, query=ALICES),
        "report_aging_by_manager": rule(STAFF_PAGE, query=ALICES),
        "report_aging_by_manager_export": rule(STAFF_PAGE, query=ALICES),
        "report_disputes": rule(STAFF_PAGE),
        "report_disputes_export": rule(STAFF_PAGE),
        "report_actions": rule(STAFF_PAGE),
        "report_actions_export": rule(STAFF_PAGE),
        "report_credit_control": rule(STAFF_PAGE),
        "report_credit_control_export": rule(STAFF_PAGE),
        "report_team_activity": rule(STAFF_PAGE),
        "report_team_activity_export": rule(STAFF_PAGE),
        "settings_index": rule(STAFF_PAGE),
        "customers_mass_assign_template": rule(BULK),
        "customers_upload_template": rule(BULK),
        "invoices_import_template": rule(STAFF_PAGE),
        "payments_import_template": rule(STAFF_PAGE),
        # Staff pages that change data: auditors refused.
        "customer_add": rule(STAFF_WRITE_PAGE, post=REFUSED_POST_WRITE),
        "customers_bulk_update": rule(BULK, post=REFUSED_POST_BULK),
        "customers_mass_assign": rule(BULK, post=REFUSED_POST_BULK),
        "customers_upload": rule(BULK, post=REFUSED_POST_BULK),
        "invoice_add": rule(STAFF_WRITE_PAGE, query=ACME, post=REFUSED_POST_WRITE),
        "invoices_import": rule(STAFF_WRITE_PAGE, post=REFUSED_POST_WRITE),
        "import_job": rule(IMPORT_JOB, pk="import_job"),
        "payment_add": rule(CUSTOMER_SCOPED_WRITE, query=ACME, post=REFUSED_POST_WRITE),
        "payment_allocations": rule(CUSTOMER_SCOPED_WRITE, query=ACME),
        "payments_import": rule(STAFF_WRITE_PAGE, post=REFUSED_POST_WRITE),
        "credit_note_add": rule(CUSTOMER_SCOPED_WRITE, query={"invoice": INV}, post=REFUSED_POST_WRITE),
        "credit_note_invoice_options": rule(CUSTOMER_SCOPED_WRITE, query=ACME),
        # Admin-only settings.
        "settings_users": rule(ADMIN_ONLY),
        "settings_user_invite": rule(ADMIN_ONLY, post=REFUSED_POST_ADMIN),
        "settings_user_edit": rule(ADMIN_ONLY, post=REFUSED_POST_ADMIN, pk="user"),
        "settings_user_default": rule(ADMIN_POST_ONLY, post=REFUSED_POST_ADMIN, pk="user"),
        "settings_user_deactivate": rule(ADMIN_ONLY, post=REFUSED_POST_ADMIN, pk="user"),
        "settings_user_reactivate": rule(ADMIN_POST_ONLY, post=REFUSED_POST_ADMIN, pk="user"),
        "settings_user_resend_invitation": rule(ADMIN_POST_ONLY, post=REFUSED_POST_ADMIN, pk="user"),
        "settings_company": rule(ADMIN_ONLY, post=REFUSED_POST_ADMIN),
        "settings_holidays": rule(HOLIDAY_EDITORS, post=REFUSED_POST_EDITORS),
        "settings_holidays_export": rule(HOLIDAY_EDITORS),
        "settings_holiday_delete": rule(HOLIDAY_EDITORS, post=REFUSED_POST_EDITORS, pk="holiday"),
        "integrations": rule(INTEGRATIONS_READ),
        "integrations_connect": rule(ADMIN_POST_ONLY, post=REFUSED_POST_ADMIN, provider="provider"),
        "integrations_callback": rule(answers(403, admin="to", anon="login", portal_other="login")),
        "integrations_choose": rule(
            answers(403, admin="to", anon="login", portal_other="login"), post=REFUSED_POST_ADMIN
        ),
        "integrations_sync": rule(ADMIN_POST_ONLY, post=REFUSED_POST_ADMIN, pk="connection"),
        "integrations_progress": rule(INTEGRATIONS_READ, pk="connection"),
        "integrations_disconnect": rule(ADMIN_ONLY, post=REFUSED_POST_ADMIN, pk="connection"),
        "integrations_log": rule(INTEGRATIONS_READ),
        "integrations_log_export": rule(INTEGRATIONS_READ),
        "workflows": rule(STAFF_PAGE),
        "workflow_add": rule(WORKFLOW_EDITORS, post=REFUSED_POST_EDITORS),
        "workflow_edit": rule(STAFF_PAGE, post=REFUSED_POST_EDITORS, pk="workflow"),
        "workflow_duplicate": rule(POST_ONLY_FIRST, post=REFUSED_POST_EDITORS, pk="workflow"),
        "workflow_set_default": rule(POST_ONLY_FIRST, post=REFUSED_POST_EDITORS, pk="workflow"),
        "workflow_delete": rule(WORKFLOW_EDITORS, post=REFUSED_POST_EDITORS, pk="workflow"),
        "action_add": rule(WORKFLOW_EDITORS, post=REFUSED_POST_EDITORS, pk="workflow"),
        "action_edit": rule(WORKFLOW_EDITORS, post=REFUSED_POST_EDITORS, pk="action"),
        "action_delete": rule(WORKFLOW_EDITORS, post=REFUSED_POST_EDITORS, pk="action"),
        "action_preview": rule(POST_ONLY_FIRST, post=REFUSED_POST_EDITORS),
        "dispute_reasons": rule(REASON_PAGE),
        "dispute_reason_add": rule(REASON_POST_ONLY, post=REFUSED_POST_REASONS),
        "dispute_reason_rename": rule(REASON_POST_ONLY, post=REFUSED_POST_REASONS, pk="reason"),
        "dispute_reason_move": rule(REASON_POST_ONLY, post=REFUSED_POST_REASONS, pk="reason"),
        "dispute_reason_retire": rule(REASON_POST_ONLY, post=REFUSED_POST_REASONS, pk="reason"),
        # One customer's data: Alice's Acme. Bob (a colleague) gets 404, as for a customer that does not exist.
        "customer_detail": rule(CUSTOMER_SCOPED, pk=C),
        "customer_timeline": rule(CUSTOMER_SCOPED, pk=C),
        "customer_edit": rule(CUSTOMER_SCOPED_WRITE, post=REFUSED_POST_SCOPED, pk=C),
        "customer_add_note": rule(POST_ONLY, post=REFUSED_POST_SCOPED, pk=C),
        "customer_add_file": rule(POST_ONLY, post=REFUSED_POST_SCOPED, pk=C),
        "customer_file": rule(CUSTOMER_SCOPED, pk=C, file_pk="customer_file"),
        "customer_promise": rule(POST_ONLY, post=REFUSED_POST_SCOPED, pk=C),
        "contact_row": rule(CUSTOMER_SCOPED, post=REFUSED_POST_SCOPED, pk=C, contact_pk="contact"),
        "customer_message": rule(CUSTOMER_SCOPED_WRITE, post=REFUSED_POST_SCOPED, pk=C),
        "customer_message_preview": rule(POST_ONLY_FIRST, post=REFUSED_POST_SCOPED, pk=C),
        "customer_portal_messages": rule(CUSTOMER_SCOPED, post=REFUSED_POST_SCOPED, pk=C),
        "portal_revoke_access": rule(REVOKE, post=REFUSED_REVOKE, pk=C),
        "report_customer_status_tags": rule(CUSTOMER_SCOPED, post=REFUSED_POST_SCOPED, pk=C),
        "report_customer_status_promise": rule(CUSTOMER_SCOPED, post=REFUSED_POST_SCOPED, pk=C),
        "report_customer_status_task": rule(CUSTOMER_SCOPED_WRITE, post=REFUSED_POST_SCOPED, pk=C),
        "task_add": rule(CUSTOMER_SCOPED_WRITE, post=REFUSED_POST_SCOPED, customer_pk=C),
        "invoice_detail": rule(CUSTOMER_SCOPED, pk=INV),
        "invoice_edit": rule(CUSTOMER_SCOPED_WRITE, post=REFUSED_POST_SCOPED, pk=INV),
        "invoice_void": rule(CUSTOMER_SCOPED_WRITE, post=REFUSED_POST_SCOPED, pk=INV),
        "invoice_mark_paid": rule(POST_ONLY, post=REFUSED_POST_SCOPED, pk=INV),
        "invoice_reminders": rule(POST_ONLY, post=REFUSED_POST_SCOPED, pk=INV),
        "invoice_promise": rule(POST_ONLY, post=REFUSED_POST_SCOPED, pk=INV),
        "invoice_attach": rule(POST_ONLY, post=REFUSED_POST_SCOPED, pk=INV),
        "invoice_file": rule(CUSTOMER_SCOPED, pk=INV, file_pk="customer_file"),
        "invoice_pdf": rule(CUSTOMER_SCOPED, pk=INV),
        "dispute_raise": rule(
            answers("to", colleague=404, auditor=403, anon="login", portal_other="login"),
            post=REFUSED_POST_SCOPED,
            invoice_pk=INV,
        ),
        "dispute_detail": rule(CUSTOMER_SCOPED, pk=DSP),
        "dispute_comment": rule(POST_ONLY_WRITE_FIRST, post=REFUSED_POST_SCOPED, pk=DSP),
        "dispute_resolve": rule(CUSTOMER_SCOPED_WRITE, post=REFUSED_POST_SCOPED, pk=DSP),
        "dispute_file": rule(CUSTOMER_SCOPED, pk=DSP, comment_pk="comment"),
        "credit_note_approve": rule(CUSTOMER_SCOPED_WRITE, post=REFUSED_APPROVE, pk="credit_note"),
        "credit_note_void": rule(CUSTOMER_SCOPED_WRITE, post=REFUSED_VOID, pk="credit_note"),
        "task_detail": rule(CUSTOMER_SCOPED, pk="task"),
        "task_complete": rule(POST_ONLY_WRITE_FIRST, post=REFUSED_POST_SCOPED, pk="task"),
        "task_reschedule": rule(POST_ONLY_WRITE_FIRST, post=REFUSED_POST_SCOPED, pk="task"),
        "task_snooze": rule(POST_ONLY_WRITE_FIRST, post=REFUSED_POST_SCOPED, pk="task"),
        # The payer portal. Ids are Acme's: Gus, signed in for Globex, must get 404 on every one of them.
        "portal_sign_in": rule(answers(200, portal_other="to")),
        "portal_link": rule(PUBLIC, token="token"),
        "portal_sign_out": rule(answers(405)),
        "portal_home": rule(PORTAL_LIST),
        "portal_invoices": rule(PORTAL_LIST),
        "portal_credit_notes": rule(PORTAL_LIST),
        "portal_payments": rule(PORTAL_LIST),
        "portal_statement": rule(PORTAL_LIST),
        "portal_disputes": rule(PORTAL_LIST),
        "portal_messages": rule(PORTAL_LIST, query={"invoice": INV}),
        "portal_pay": rule(PORTAL_LIST),
        "portal_paid_notice": rule(
            PORTAL_POST_ONLY, post=answers(None, **{a: "portal" for a in STAFF}, anon="portal")
        ),
        "portal_pay_done": rule(PORTAL_LIST),
        "portal_invoice": rule(PORTAL_OTHER_CUSTOMERS_OBJECT, pk=INV),
        "portal_invoice_pdf": rule(PORTAL_OTHER_CUSTOMERS_OBJECT, pk=INV),
        "portal_credit_note": rule(PORTAL_OTHER_CUSTOMERS_OBJECT, pk="credit_note"),
        "portal_payment": rule(PORTAL_OTHER_CUSTOMERS_OBJECT, pk="payment"),
        "portal_dispute_detail": rule(PORTAL_OTHER_CUSTOMERS_OBJECT, post=REFUSED_POST_PORTAL, pk=DSP),
        "portal_dispute_file": rule(PORTAL_OTHER_CUSTOMERS_OBJECT, pk=DSP, comment_pk="comment"),
        "portal_dispute_new": rule(PORTAL_OTHER_CUSTOMERS_OBJECT, post=REFUSED_POST_PORTAL, invoice_pk=INV),
        "portal_promise": rule(PORTAL_OTHER_CUSTOMERS_OBJECT, post=REFUSED_POST_PORTAL, invoice_pk=INV),
        "portal_document_upload": rule(
            PORTAL_OTHER_CUSTOMERS_OBJECT, post=REFUSED_POST_PORTAL, invoice_pk=INV
        ),
    }
)

# The Django admin: the admin role only. Listed model by model, so a newly registered model needs a line.
# label → the admin's answers on (changelist, add, change, history, delete), for the model's first row.
ADMIN_OK = (200, 200, 200, 200, 200)
NO_ADD_MODELS = {
    "axes.accessattempt",
    "axes.accesslog",
    "axes.accessfailurelog",
    "customers.activity",
    "invoices.payment",
    "accounting.connection",
    "peakflo.heartbeat",
    "peakflo.importjob",
    "portal.linkrequest",
    "portal.portallink",
    "portal.stripecheckout",
    "portal.stripeevent",
}
NO_ADD = (200, 403, 200, 200, 200)  # rows that only the system writes
READ_AND_CHANGE = (200, 403, 200, 200, 403)
ADMIN_MODELS = {
    label: {
        "peakflo.company": ("to", 403, 200, 200, 403),  # the single row: the list opens it
        "invoices.paymentallocation": READ_AND_CHANGE,
        "customers.activity": READ_AND_CHANGE,  # the timeline is an audit trail: never deleted
        "accounting.connection": READ_AND_CHANGE,  # disconnected in Settings → Integrations, with OAuth
    }.get(label, NO_ADD if label in NO_ADD_MODELS else ADMIN_OK)
    for label in (
        "auth.group",
        "peakflo.user",
        "peakflo.company",
        "peakflo.importjob",
        "peakflo.heartbeat",
        "customers.tag",
        "customers.customer",
        "customers.contact",
        "customers.activity",
        "invoices.invoice",
        "invoices.invoiceline",
        "invoices.payment",
        "invoices.paymentallocation",
        "invoices.creditnote",
        "workflows.workflow",
        "workflows.action",
        "workflows.actionrun",
        "workflows.message",
        "workflows.task",
        "portal.portallink",
        "portal.linkrequest",
        "portal.portalmessage",
        "portal.stripecheckout",
        "portal.stripeevent",
        "django_celery_beat.periodictask",
        "django_celery_beat.clockedschedule",
        "django_celery_beat.crontabschedule",
        "django_celery_beat.solarschedule",
        "django_celery_beat.intervalschedule",
        "axes.accessattempt",
        "axes.accesslog",
        "axes.accessfailurelog",
        "accounting.connection",
    )
}


def first_row(label):
    def pk(book):
        row = apps.get_model(label).objects.order_by("pk").first()
        assert row is not None, f"the book has no {label} row for the admin's pages"
        return row.pk

    return pk


TABLE.update(
    {
        "admin:index": rule(ADMIN_SITE),
        "admin:auth_user_password_change": rule(ADMIN_SITE, id="user"),
        "admin:login": rule(answers(200, admin="to")),
        "admin:logout": rule(answers("to", admin=405)),
        "admin:password_change": rule(ADMIN_SITE),
        "admin:password_change_done": rule(ADMIN_SITE),
        "admin:autocomplete": rule(answers("admin_login", admin=403)),
        "admin:jsi18n": rule(ADMIN_SITE),
        "admin:view_on_site": rule(answers("admin_login", admin=404), content_type_id="0", object_id="0"),
        "admin:app_list": rule(ADMIN_SITE, app_label="customers"),
        "admin/(?P<url>.*)$": rule(answers("admin_login", admin=404), url="no-such-page/"),
    }
)
for _label, _codes in ADMIN_MODELS.items():
    _app, _model = _label.split(".")
    _prefix = f"admin:{_app}_{_model}_"
    _changelist, _add, _change, _history, _delete = (answers("admin_login", admin=code) for code in _codes)
    _row = first_row(_label)
    TABLE[_prefix + "changelist"] = rule(_changelist)
    TABLE[_prefix + "add"] = rule(_add)
    TABLE[_prefix + "change"] = rule(_change, object_id=_row)
    TABLE[_prefix + "history"] = rule(_history, object_id=_row)
    TABLE[_prefix + "delete"] = rule(_delete, object_id=_row)
    TABLE[f"admin/{_app}/{_model}/<path:object_id>/"] = rule(
        answers("admin_login", admin="to"), object_id=_row
    )


# --- The tests ------------------------------------------------------------------------------------------
def test_every_url_pattern_has_a_rule():
    missing = sorted(f"{key}  ({route})" for key, (route, _) in PATTERNS.items() if key not in TABLE)
    stale = sorted(set(TABLE) - set(PATTERNS))
    assert not missing, "URL patterns with no line in the authorization TABLE:\n" + "\n".join(missing)
    assert not stale, f"TABLE lines for patterns that no longer exist: {stale}"


def differences(key, book, method, expected):
    url = url_for(key, book)
    found = []
    before = rows_of_our_apps() if method == "post" else None
    for actor in ACTORS:
        if expected[actor] is None:
            continue
        client = book["clients"][actor]
        response = getattr(client, method)(url)
        got = answer_of(response)
        if got == 200 and method == "get" and actor in MUST_NOT_SEE_ACME and key not in NAMES_THE_CUSTOMER:
            # The HTMX partial of the same URL is asked for too: it is a second way to the rows.
            partial = client.get(url, headers={"HX-Request": "true"})
            for how, answer in (("", response), (" (HTMX)", partial)):
                text = text_of(answer) if answer.status_code == 200 else ""
                seen = [word for word in ACME_WORDS if word in text]
                if seen:
                    found.append(f"GET {url}{how} as {actor}: answered 200 showing Alice's customer: {seen}")
        shown_to_alice = got == 200 and method == "get" and actor == "owner" and key in SHOWS_ACME_TO_ALICE
        if shown_to_alice and not any(word in text_of(response) for word in ACME_WORDS):
            found.append(
                f"GET {url} as owner: Alice's customer is missing, so the check above proves nothing"
            )
        if got != expected[actor]:
            where = f" → {response['Location']}" if response.status_code in (301, 302, 303) else ""
            found.append(f"{method.upper()} {url} as {actor}: expected {expected[actor]}, got {got}{where}")
        elif method == "post" and rows_of_our_apps() != before:
            found.append(f"POST {url} as {actor}: refused with {got} but rows changed")
    return found


@pytest.mark.parametrize("key", sorted(PATTERNS))
def test_get(key, book, db):
    assert key in TABLE, f"{key} ({PATTERNS[key][0]}) has no line in the authorization TABLE"
    found = differences(key, book, "get", TABLE[key]["get"])
    assert not found, "\n".join(found)


@pytest.mark.parametrize("key", sorted(key for key, line in TABLE.items() if line["post"]))
def test_refused_post_changes_nothing(key, book, db):
    found = differences(key, book, "post", TABLE[key]["post"])
    assert not found, "\n".join(found)


# --- Bodies that name someone else's rows ---------------------------------------------------------------
def payment_body(book):
    return {
        "customer": book["customer"],
        "date": Company.load().today().isoformat(),
        "amount": "7.00",
        "currency": "SGD",
        "method": "bank_transfer",
        "reference": "AUTHZ-BODY",
    }


def credit_note_body(book):
    return {
        "customer": book["customer"],
        "invoice": book["invoice"],
        "number": "AZ-CN-BODY",
        "date": Company.load().today().isoformat(),
        "amount": "3.00",
        "currency": "SGD",
        "reason": "Authz body",
    }


def question_body(book):
    return {"body": "Is this mine?", "invoice": book["invoice"]}


def paid_notice_body(invoice):
    def body(book):
        return {
            "amount": "100.00",
            "date": Company.load().today().isoformat(),
            "reference": "AUTHZ-TT",
            "invoices": [book[invoice]],
        }

    return body


# (url name, body naming Alice's customer or invoice, who is refused, who is not and with which body).
# The accepted POST proves the body is a real one; the refused one changes no row of our apps.
FOREIGN_BODIES = [
    ("payment_add", payment_body, "colleague", ("owner", payment_body)),
    ("credit_note_add", credit_note_body, "colleague", ("owner", credit_note_body)),
    # Gus may ask his own question; naming Acme's invoice in it is refused.
    ("portal_messages", question_body, "portal_other", ("portal_other", lambda book: {"body": "Mine?"})),
    # Gus tells of a bank transfer for his own invoice; for Acme's it is refused.
    (
        "portal_paid_notice",
        paid_notice_body("invoice"),
        "portal_other",
        ("portal_other", paid_notice_body("other_invoice")),
    ),
]


@pytest.mark.parametrize(
    ("key", "body", "refused", "accepted"), FOREIGN_BODIES, ids=[case[0] for case in FOREIGN_BODIES]
)
def test_a_body_naming_alices_rows_is_refused(key, body, refused, accepted, book, db):
    url = reverse(key)
    before = rows_of_our_apps()
    response = book["clients"][refused].post(url, body(book))
    assert answer_of(response) in (200, 400, 403, 404), f"POST {url} as {refused}: {answer_of(response)}"
    assert rows_of_our_apps() == before, f"POST {url} as {refused} naming Alice's rows changed rows"
    actor, accepted_body = accepted
    response = book["clients"][actor].post(url, accepted_body(book))
    assert answer_of(response) == "to", response.content[:2000]
    assert rows_of_our_apps() != before


# A URL whose first id is the visitor's own (Bob's Globex, Gus's dispute) and whose second is Acme's:
# the second must be looked up inside the first, never on its own.
MIXED_IDS = [
    ("customer_file", "colleague", {"pk": "other_customer", "file_pk": "customer_file"}),
    ("invoice_file", "colleague", {"pk": "other_invoice", "file_pk": "customer_file"}),
    ("contact_row", "colleague", {"pk": "other_customer", "contact_pk": "contact"}),
    ("dispute_file", "colleague", {"pk": "other_dispute", "comment_pk": "comment"}),
    ("portal_dispute_file", "portal_other", {"pk": "other_dispute", "comment_pk": "comment"}),
]


@pytest.mark.parametrize(("key", "actor", "ids"), MIXED_IDS, ids=[case[0] for case in MIXED_IDS])
def test_an_id_of_alices_inside_ones_own_url_is_404(key, actor, ids, book, db):
    url = reverse(key, kwargs={name: book[source] for name, source in ids.items()})
    response = book["clients"][actor].get(url)
    assert response.status_code == 404, f"GET {url} as {actor}: {answer_of(response)}"


# A webhook with a forged signature is refused as one without: a session (even an admin's) is no key.
FORGED = [
    ("xero_webhook", {"X-Xero-Signature": "Zm9yZ2Vk"}, 401),
    ("twilio_status", {"X-Twilio-Signature": "Zm9yZ2Vk"}, 403),
    ("portal_stripe_webhook", {"Stripe-Signature": "t=1,v1=forged"}, 400),
]


@pytest.mark.parametrize(("key", "headers", "status"), FORGED, ids=[case[0] for case in FORGED])
def test_a_forged_webhook_signature_is_refused(key, headers, status, book, db):
    before = rows_of_our_apps()
    for actor in ("anon", "admin"):
        response = book["clients"][actor].post(
            reverse(key),
            data=b'{"events": [], "id": "evt_forged"}',
            content_type="application/json",
            headers=headers,
        )
        assert response.status_code == status, (actor, response.status_code, response.content[:300])
    assert rows_of_our_apps() == before
