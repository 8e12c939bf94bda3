"""Spreadsheet uploads about customers: mass users assign, and customers with their contacts.

Like invoices.imports: every row is checked first, errors name the row and the column, and then
all rows are written or none. Database checks are set-based: a few queries whatever the row count.
"""

from dataclasses import dataclass, field

from babel.numbers import list_currencies
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from invoices.imports import ImportRejected, RowError
from peakflo.bulk import insert_objects, insert_rows
from peakflo.models import Role, User
from peakflo.spreadsheets import SpreadsheetError, read_table, write_xlsx

from . import timeline
from .models import ActivityKind, Contact, Customer, Source
from .services import default_account_manager

MAX_REPORTED_ERRORS = 200
CURRENCIES = frozenset(list_currencies())
CHUNK = 10000

__all__ = ["ImportRejected", "RowError", "SpreadsheetError", "mass_assign", "upload_customers"]


def _text(value):
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel stores customer ID 1001 as 1001.0
    return "" if value is None else str(value).strip()


def _reject(errors, columns):
    errors.sort(key=lambda e: (e.row, columns.index(e.column) if e.column in columns else 99))
    raise ImportRejected(errors[:MAX_REPORTED_ERRORS], total_errors=len(errors))


def _in_chunks(values):
    values = list(values)
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _customer_ids_by_code(codes):
    found = {}
    for chunk in _in_chunks(codes):
        found.update(Customer.objects.filter(code__in=chunk).values_list("code", "id"))
    return found


def _users_by_email(emails):
    found = {}
    for chunk in _in_chunks(emails):
        for user in User.objects.annotate(lower_email=Lower("email")).filter(lower_email__in=chunk):
            found[user.email.lower()] = user
    return found


def _is_email(text):
    try:
        validate_email(text)
    except ValidationError:
        return False
    return True


def _check_email(row, column, email, errors):
    if not _is_email(email):
        errors.append(RowError(row, column, f"{email!r} is not an email address."))
        return False
    return True


def _check_user(row, column, email, users, errors, *, what):
    user = users.get(email)
    if user is None:
        errors.append(RowError(row, column, f"{email!r} is not a peakflo user."))
    elif not user.is_active:
        errors.append(RowError(row, column, f"{email!r} is inactive and cannot be {what}."))
    elif user.role == Role.AUDITOR:
        errors.append(RowError(row, column, f"{email!r} is a read-only auditor and cannot be {what}."))
    else:
        return user
    return None


# --- Mass users assign --------------------------------------------------------------------------

ASSIGN_COLUMNS = ["customer ID", "email"]
ASSIGN_OPTIONAL = ["defaultViewers"]
ASSIGN_ALL = [*ASSIGN_COLUMNS, *ASSIGN_OPTIONAL]


@dataclass
class AssignSummary:
    customers: int = 0
    reassigned: int = 0
    viewers_set: bool = False
    by_manager: dict = field(default_factory=dict)


def mass_assign_template():
    return write_xlsx(
        ASSIGN_ALL,
        [
            ["C-001", "alice@example.com", "bob@example.com, carol@example.com"],
            ["C-002", "bob@example.com", ""],
        ],
        sheet_title="Assignments",
    )


def parse_assignments(data, *, filename=""):
    """Check every row; return [(row, code, manager email, [viewer emails] or None)] and the users."""
    headers, rows = read_table(data, filename=filename, required=ASSIGN_COLUMNS, optional=ASSIGN_OPTIONAL)
    has_viewers = "defaultViewers" in headers
    errors, parsed, first_row_of = [], [], {}
    for number, cells in rows:
        code, email = _text(cells.get("customer ID")), _text(cells.get("email")).lower()
        viewers = None
        if has_viewers:
            viewers = [
                v.strip().lower() for v in _text(cells.get("defaultViewers")).replace(";", ",").split(",")
            ]
            viewers = list(dict.fromkeys(v for v in viewers if v))
        if not code:
            errors.append(RowError(number, "customer ID", "is empty."))
        elif code in first_row_of:
            errors.append(
                RowError(number, "customer ID", f"{code!r} also appears in row {first_row_of[code]}.")
            )
        else:
            first_row_of[code] = number
        if not email:
            errors.append(RowError(number, "email", "is empty: every customer needs an account manager."))
        else:
            _check_email(number, "email", email, errors)
        for viewer in viewers or ():
            _check_email(number, "defaultViewers", viewer, errors)
        parsed.append((number, code, email, viewers))
    if not parsed and not errors:
        raise SpreadsheetError(f"{filename or 'The file'} has a header row but no customers.")

    customer_ids = _customer_ids_by_code({code for _, code, _, _ in parsed if code})
    users = _users_by_email({e for _, _, email, viewers in parsed for e in [email, *(viewers or ())] if e})
    assignments = []
    for number, code, email, viewers in parsed:
        if code and code not in customer_ids:
            errors.append(RowError(number, "customer ID", f"{code!r} is not a known customer ID."))
        manager = None
        if _is_email(email):
            manager = _check_user(number, "email", email, users, errors, what="an account manager")
        viewer_users = [
            _check_user(number, "defaultViewers", viewer, users, errors, what="a default viewer")
            for viewer in viewers or ()
            if _is_email(viewer)
        ]
        if not errors:
            assignments.append((customer_ids[code], manager, None if viewers is None else viewer_users))
    if errors:
        _reject(errors, ASSIGN_ALL)
    return assignments


def mass_assign(*, data, filename="", actor=None):
    """Set the account manager (and default viewers, when the column is there) of every listed customer.

    A missing defaultViewers column leaves viewers as they are; an empty cell removes them.
    """
    assignments = parse_assignments(data, filename=filename)
    summary = AssignSummary(customers=len(assignments), viewers_set=assignments[0][2] is not None)
    ids = [customer_id for customer_id, _, _ in assignments]
    now = timezone.now()
    through = Customer.default_viewers.through
    with transaction.atomic():
        previous = {}
        for chunk in _in_chunks(ids):
            previous.update(
                Customer.objects.select_for_update()
                .filter(pk__in=chunk)
                .values_list("pk", "account_manager_id")
            )
        old_viewers = {}
        if summary.viewers_set:
            for chunk in _in_chunks(ids):
                for customer_id, user_id in through.objects.filter(customer_id__in=chunk).values_list(
                    "customer_id", "user_id"
                ):
                    old_viewers.setdefault(customer_id, set()).add(user_id)
        # One UPDATE per account manager named in the file: a handful, not one per customer.
        moving = {}
        for customer_id, manager, _ in assignments:
            if previous[customer_id] != manager.pk:
                moving.setdefault(manager, []).append(customer_id)
        for manager, customer_ids in moving.items():
            for chunk in _in_chunks(customer_ids):
                Customer.objects.filter(pk__in=chunk).update(account_manager=manager, updated_at=now)
            summary.by_manager[str(manager)] = len(customer_ids)
        summary.reassigned = sum(len(v) for v in moving.values())
        if summary.viewers_set:
            for chunk in _in_chunks(ids):
                through.objects.filter(customer_id__in=chunk).delete()
            insert_rows(
                through,
                ["customer_id", "user_id"],
                ((customer_id, viewer.pk) for customer_id, _, viewers in assignments for viewer in viewers),
            )
        names = {user.pk: str(user) for user in User.objects.filter(pk__in=set(previous.values()) - {None})}

        def entries():
            for customer_id, manager, viewers in assignments:
                data = {}
                if previous[customer_id] != manager.pk:
                    data = {"from": names.get(previous[customer_id], ""), "to": str(manager)}
                if viewers is not None:
                    before, after = old_viewers.get(customer_id, set()), {v.pk for v in viewers}
                    if before != after:
                        data["default viewers"] = ", ".join(str(v) for v in viewers) or "none"
                if data:
                    data["file"] = filename
                    yield {
                        "customer_id": customer_id,
                        "kind": ActivityKind.ASSIGNMENT,
                        "actor": actor,
                        "data": data,
                        "at": now,
                    }

        timeline.record_many(entries())
    return summary


# --- Customers and contacts ---------------------------------------------------------------------

UPLOAD_COLUMNS = ["customer ID", "name"]
UPLOAD_OPTIONAL = [
    "currency",
    "payment terms",
    "account manager email",
    "contact name",
    "contact email",
    "phone",
    "WhatsApp",
    "LINE id",
    "main contact",
]
UPLOAD_ALL = [*UPLOAD_COLUMNS, *UPLOAD_OPTIONAL]
YES = {"yes", "y", "true", "1", "x", "main"}
NO = {"", "no", "n", "false", "0"}


@dataclass
class UploadSummary:
    customers: int = 0
    contacts: int = 0


def upload_template():
    return write_xlsx(
        UPLOAD_ALL,
        [
            [
                "C-100",
                "Acme Pte Ltd",
                "SGD",
                30,
                "alice@example.com",
                "Ann Tan",
                "ann@acme.test",
                "+65 6123 4567",
                "+65 9123 4567",
                "",
                "yes",
            ],
            [
                "C-100",
                "Acme Pte Ltd",
                "SGD",
                30,
                "alice@example.com",
                "Ben Lim",
                "ben@acme.test",
                "",
                "",
                "",
                "no",
            ],
            [
                "C-101",
                "Siam Trading Co",
                "THB",
                45,
                "",
                "Somchai P.",
                "somchai@siam.test",
                "",
                "",
                "somchai.p",
                "yes",
            ],
        ],
        sheet_title="Customers",
    )


def parse_customers(data, *, filename=""):
    """Check every row; return unsaved (Customer, [Contact]) pairs, or raise ImportRejected."""
    _, rows = read_table(data, filename=filename, required=UPLOAD_COLUMNS, optional=UPLOAD_OPTIONAL)
    errors = []
    customers = {}  # code -> {"row", "name", "currency", "terms", "manager", "contacts": [...]}
    for number, cells in rows:
        code, name = _text(cells.get("customer ID")), _text(cells.get("name"))
        currency = _text(cells.get("currency")).upper()
        terms_text = _text(cells.get("payment terms"))
        manager = _text(cells.get("account manager email")).lower()
        if not code:
            errors.append(RowError(number, "customer ID", "is empty."))
        elif len(code) > 64:
            errors.append(RowError(number, "customer ID", "is longer than 64 characters."))
        if len(name) > 200:
            errors.append(RowError(number, "name", "is longer than 200 characters."))
        if currency and currency not in CURRENCIES:
            errors.append(
                RowError(number, "currency", f"{currency!r} is not an ISO 4217 code (SGD, USD, THB…).")
            )
        terms = None
        if terms_text:
            try:
                terms = int(terms_text)
                if not 0 <= terms <= 365:
                    raise ValueError
            except ValueError:
                errors.append(
                    RowError(number, "payment terms", f"{terms_text!r} is not a number of days (0–365).")
                )
        if manager:
            _check_email(number, "account manager email", manager, errors)

        first = customers.get(code) if code else None
        if code and first is None:
            if not name:
                errors.append(RowError(number, "name", "is empty."))
            first = customers[code] = {
                "row": number,
                "name": name,
                "currency": currency or None,
                "terms": terms,
                "manager": manager,
                "contacts": [],
            }
        elif first is not None:
            # Further rows of the same customer add contacts; what they repeat must agree.
            for column, value, key in (
                ("name", name, "name"),
                ("currency", currency, "currency"),
                ("payment terms", terms, "terms"),
                ("account manager email", manager, "manager"),
            ):
                if value and first[key] and value != first[key]:
                    errors.append(
                        RowError(
                            number, column, f"{value!r} differs from row {first['row']} ({first[key]!r})."
                        )
                    )

        contact = _parse_contact(number, cells, errors)
        if contact is not None and first is not None:
            if contact.is_main and any(c.is_main for _, c in first["contacts"]):
                main_row = next(r for r, c in first["contacts"] if c.is_main)
                errors.append(
                    RowError(
                        number, "main contact", f"{code!r} already has a main contact in row {main_row}."
                    )
                )
            first["contacts"].append((number, contact))

    if not customers and not errors:
        raise SpreadsheetError(f"{filename or 'The file'} has a header row but no customers.")

    existing = set()
    for chunk in _in_chunks(customers):
        existing.update(Customer.objects.filter(code__in=chunk).values_list("code", flat=True))
    users = _users_by_email({c["manager"] for c in customers.values() if c["manager"]})
    fallback = default_account_manager()
    parsed = []
    for code, row in customers.items():
        if code in existing:
            errors.append(
                RowError(
                    row["row"], "customer ID", f"{code!r} already exists; this upload only adds customers."
                )
            )
        manager = fallback
        if row["manager"] and _is_email(row["manager"]):
            manager = _check_user(
                row["row"], "account manager email", row["manager"], users, errors, what="an account manager"
            )
        contacts = [contact for _, contact in row["contacts"]]
        if contacts and not any(c.is_main for c in contacts):
            contacts[0].is_main = True  # a customer with contacts always has a main one
        customer = Customer(
            code=code,
            name=row["name"],
            currency=row["currency"] or "SGD",
            payment_terms_days=30 if row["terms"] is None else row["terms"],
            account_manager=manager,
            source=Source.IMPORT,
        )
        parsed.append((customer, contacts))
    if errors:
        _reject(errors, UPLOAD_ALL)
    return parsed


def _parse_contact(number, cells, errors):
    values = {
        "name": _text(cells.get("contact name")),
        "email": _text(cells.get("contact email")).lower(),
        "phone": _text(cells.get("phone")),
        "whatsapp": _text(cells.get("WhatsApp")),
        "line_id": _text(cells.get("LINE id")),
    }
    main = _text(cells.get("main contact")).lower()
    if main not in YES | NO:
        errors.append(RowError(number, "main contact", f"{main!r} is neither yes nor no."))
    if not any(values.values()):
        if main in YES:
            errors.append(RowError(number, "contact name", "is empty but the row says main contact: yes."))
        return None
    if not values["name"]:
        errors.append(RowError(number, "contact name", "is empty while the row has contact details."))
    if values["email"]:
        _check_email(number, "contact email", values["email"], errors)
    for column, key, limit in (
        ("contact name", "name", 150),
        ("phone", "phone", 32),
        ("WhatsApp", "whatsapp", 32),
        ("LINE id", "line_id", 64),
    ):
        if len(values[key]) > limit:
            errors.append(RowError(number, column, f"is longer than {limit} characters."))
    return Contact(**values, is_main=main in YES)


def upload_customers(*, data, filename="", actor=None):
    """Add every customer of the file with its contacts, or none; each gets its 'created' entry."""
    parsed = parse_customers(data, filename=filename)
    now = timezone.now()
    with transaction.atomic():
        customers = insert_objects(Customer, [customer for customer, _ in parsed])
        contacts = []
        for customer, its_contacts in parsed:
            for contact in its_contacts:
                contact.customer_id = customer.pk
                contacts.append(contact)
        insert_objects(Contact, contacts)

        def entries():
            for customer in customers:
                yield {
                    "customer_id": customer.pk,
                    "kind": ActivityKind.CUSTOMER_CREATED,
                    "actor": actor,
                    "data": {
                        "code": customer.code,
                        "name": customer.name,
                        "source": "import",
                        "file": filename,
                    },
                    "at": now,
                }
                if customer.account_manager_id:
                    yield {
                        "customer_id": customer.pk,
                        "kind": ActivityKind.ASSIGNMENT,
                        "actor": actor,
                        "data": {"to": str(customer.account_manager)},
                        "at": now,
                    }

        timeline.record_many(entries())
    return UploadSummary(customers=len(customers), contacts=len(contacts))
