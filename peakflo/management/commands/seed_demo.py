"""Demo data: a believable company to click through, or large volumes for bench/.

    manage.py seed_demo                                      # ~40 customers, ~400 invoices, repeatable
    manage.py seed_demo --customers 100000 --invoices 1000000  # bulk inserts (COPY on Postgres)

Both are deterministic (random.Random(seed)), dated relative to today in the company's time zone,
and repeatable: a customer whose code already exists is skipped with everything that belongs to it,
and the large mode carries on from the rows already there.
"""

import datetime as dt
import random
import time
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from customers import timeline
from customers.models import ActivityKind, Contact, Customer, Tag
from customers.services import record_promise_to_pay
from invoices.models import Invoice, InvoiceLine, Payment, PaymentAllocation, PaymentMethod
from invoices.services import (
    LineInput,
    approve_credit_note,
    create_credit_note,
    issue_invoice,
    record_payment,
)
from peakflo.models import Company, Role, User
from workflows.models import Workflow

COMPANY = {
    "name": "Peakflo Demo Trading Pte Ltd",
    "address": "10 Anson Road, #20-05 International Plaza\nSingapore 079903",
    "base_currency": "SGD",
    "time_zone": "Asia/Singapore",
    "sender_email": "ar@demo.peakflo.test",
    "invoice_footer": "Please pay by FAST / PayNow to UEN 201912345K or DBS 072-123456-7, quoting the invoice number.",
}
DEMO_PASSWORD = "peakflo-demo-2026"
# email, name, role, default account manager
USERS = [
    ("maya.tan@demo.peakflo.test", "Maya Tan", Role.ACCOUNT_MANAGER, True),
    ("arjun.nair@demo.peakflo.test", "Arjun Nair", Role.ACCOUNT_MANAGER, False),
    ("siti.rahman@demo.peakflo.test", "Siti Rahman", Role.ACCOUNT_MANAGER, False),
    ("weiling.lim@demo.peakflo.test", "Lim Wei Ling", Role.AR_ADMIN, False),
    ("daniel.wong@demo.peakflo.test", "Daniel Wong", Role.ADMIN, False),
]

# currency: SGD per unit (the stored exchange rate), sales tax %, smallest unit price step
CURRENCIES = {
    "SGD": (Decimal("1"), Decimal("9"), Decimal("0.50")),  # GST
    "IDR": (Decimal("0.0000845"), Decimal("11"), Decimal("1000")),  # PPN
    "THB": (Decimal("0.0378"), Decimal("7"), Decimal("10")),  # VAT
    "USD": (Decimal("1.3450"), Decimal("0"), Decimal("0.50")),  # export: zero-rated
}

# code suffix, name, country, currency, payment terms (days)
CUSTOMERS = [
    ("Harbourfront Marine Supplies Pte Ltd", "SG"),
    ("Lion City Fresh Produce Pte Ltd", "SG"),
    ("Tanjong Pagar Logistics Pte Ltd", "SG"),
    ("Orchard Bright Retail Pte Ltd", "SG"),
    ("Jurong Precision Engineering Pte Ltd", "SG"),
    ("Kallang Digital Solutions Pte Ltd", "SG"),
    ("Straits Pharma Distribution Pte Ltd", "SG"),
    ("Bukit Timah Learning Centre Pte Ltd", "SG"),
    ("Changi Aero Services Pte Ltd", "SG"),
    ("Raffles Hospitality Group Pte Ltd", "SG"),
    ("Sentosa Leisure Holdings Pte Ltd", "SG"),
    ("Tiong Bahru Bakery Supplies Pte Ltd", "SG"),
    ("Marina Bay Events Pte Ltd", "SG"),
    ("Pasir Panjang Cold Chain Pte Ltd", "SG"),
    ("Ang Mo Kio Electronics Pte Ltd", "SG"),
    ("Serangoon Green Builders Pte Ltd", "SG"),
    ("PT Sinar Jaya Abadi", "ID"),
    ("PT Nusantara Kopi Sejahtera", "ID"),
    ("PT Maju Bersama Logistik", "ID"),
    ("PT Bintang Timur Elektronik", "ID"),
    ("PT Surya Pangan Makmur", "ID"),
    ("PT Garuda Tekstil Indonesia", "ID"),
    ("PT Cahaya Baru Farmasi", "ID"),
    ("PT Mitra Bali Resorts", "ID"),
    ("Siam Rice Trading Co., Ltd.", "TH"),
    ("Chao Phraya Packaging Co., Ltd.", "TH"),
    ("Bangkok Auto Parts Co., Ltd.", "TH"),
    ("Chiang Mai Silk House Co., Ltd.", "TH"),
    ("Thai Orchid Foods Public Company Limited", "TH"),
    ("Phuket Seaview Hotels Co., Ltd.", "TH"),
    ("Krungthep Steel Works Co., Ltd.", "TH"),
    ("Isan Agro Industries Co., Ltd.", "TH"),
    ("Saigon Coffee Roasters JSC", "VN"),
    ("Manila Bay Shipping Corp.", "PH"),
    ("Kowloon Trading Company Limited", "HK"),
    ("Osaka Fine Instruments K.K.", "JP"),
    ("Penang Semiconductor Sdn Bhd", "MY"),
    ("Kuala Lumpur Medical Supplies Sdn Bhd", "MY"),
    ("Sydney Harbour Imports Pty Ltd", "AU"),
    ("Pacific Rim Foods Inc.", "US"),
]
COUNTRY_CURRENCY = {"SG": "SGD", "ID": "IDR", "TH": "THB"}  # everyone else is billed in USD
PEOPLE = {
    "SG": [
        "Tan Wei Ming",
        "Rachel Ng",
        "Kumar Selvam",
        "Nurul Aisyah",
        "Jason Goh",
        "Priya Menon",
        "Chloe Teo",
        "Lim Hui Min",
        "Farid Ismail",
        "Grace Koh",
    ],
    "ID": [
        "Budi Santoso",
        "Dewi Lestari",
        "Agus Pratama",
        "Rina Wijaya",
        "Hendra Gunawan",
        "Putri Maharani",
        "Yusuf Hidayat",
        "Sri Wahyuni",
    ],
    "TH": [
        "Somchai Srisuk",
        "Nattaya Chaiyaporn",
        "Kittipong Rattanakul",
        "Pimchanok Wongsawat",
        "Anan Thongdee",
        "Supaporn Jaidee",
        "Wichai Boonmee",
        "Ratana Sukjai",
    ],
    "VN": ["Nguyen Van An", "Tran Thi Mai", "Le Minh Tuan"],
    "PH": ["Maria Santos", "Jose Reyes", "Angelica Cruz"],
    "HK": ["Chan Ka Wai", "Wong Siu Ling", "Leung Chi Ho"],
    "JP": ["Kenji Watanabe", "Yuki Tanaka", "Hiroshi Sato"],
    "MY": ["Ahmad Faizal", "Tan Mei Ling", "Ravi Chandran"],
    "AU": ["Olivia Brown", "Jack Wilson", "Sophie Nguyen"],
    "US": ["Michael Carter", "Emily Johnson", "David Kim"],
}
# country: dialling code, landline prefixes, mobile prefixes, digits after the prefix
PHONES = {
    "SG": ("+65", ["6"], ["8", "9"], 7),
    "ID": ("+62", ["21"], ["812", "813", "857"], 8),
    "TH": ("+66", ["2"], ["81", "86", "89"], 7),
    "VN": ("+84", ["28"], ["90", "91"], 7),
    "PH": ("+63", ["2"], ["917", "918"], 7),
    "HK": ("+852", ["2"], ["9", "6"], 7),
    "JP": ("+81", ["6"], ["90", "80"], 8),
    "MY": ("+60", ["4", "3"], ["12", "17"], 7),
    "AU": ("+61", ["2"], ["4"], 8),
    "US": ("+1", ["415"], ["628"], 7),
}
# description, unit price in SGD, largest quantity
CATALOG = [
    ("Stainless steel fasteners M8 (box of 500)", Decimal("85"), 40),
    ("Industrial stretch film 500 mm x 300 m", Decimal("42"), 60),
    ("Pallet strapping kit", Decimal("120"), 20),
    ("Food-grade storage containers 20 L", Decimal("18.50"), 120),
    ("Arabica coffee beans, 1 kg bag", Decimal("32"), 80),
    ("Jasmine rice, 25 kg sack", Decimal("48"), 100),
    ("LED high-bay light 150 W", Decimal("165"), 30),
    ("Safety helmets (carton of 20)", Decimal("240"), 10),
    ("Nitrile gloves (case of 1,000)", Decimal("68"), 50),
    ("Cold-chain storage, per pallet-week", Decimal("28"), 90),
    ("Freight and handling", Decimal("350"), 3),
    ("Installation and commissioning (hour)", Decimal("95"), 24),
    ("Thermal receipt paper rolls (carton of 50)", Decimal("55"), 40),
    ("Double-wall cartons (bundle of 50)", Decimal("75"), 30),
    ("Annual maintenance contract", Decimal("2400"), 1),
]
TAGS = [
    ("Key account", "#1d4ed8"),
    ("Slow payer", "#dc2626"),
    ("Distributor", "#059669"),
    ("New customer", "#d97706"),
    ("Hospitality", "#7c3aed"),
    ("Government-linked", "#475569"),
]
# aging bucket: days past due (negative: not yet due)
BUCKETS = {"current": (-45, 0), "1-30": (1, 30), "31-60": (31, 60), "61-90": (61, 90), "90+": (91, 240)}
BULK_PREFIX = "BULK-"


class Command(BaseCommand):
    help = "Load a believable demo company, or with --customers/--invoices large volumes for benchmarks."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, help="large mode: this many customers (bulk inserts)")
        parser.add_argument("--invoices", type=int, help="large mode: this many invoices (about 30%% open)")
        parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
        parser.add_argument("--batch-size", type=int, default=20_000, help="large mode: rows per transaction")

    def handle(self, *args, customers=None, invoices=None, seed=2026, batch_size=20_000, **options):
        started = time.monotonic()
        company = self.ensure_company()
        users = self.ensure_users()
        self.ensure_workflow()
        if customers is None and invoices is None:
            self.seed_demo(company, users, seed)
        else:
            if not customers or customers < 1 or invoices is None or invoices < 0:
                raise CommandError("Large mode needs --customers N (at least 1) and --invoices M.")
            bulk = BulkSeeder(self, company, users, seed, batch_size)
            bulk.customers(customers)
            bulk.invoices(invoices, customers)
        self.stdout.write(self.style.SUCCESS(f"Done in {time.monotonic() - started:.1f} s."))
        self.stdout.write(f"\nDemo logins (password for all: {DEMO_PASSWORD}):")
        for email, name, role, is_default in USERS:
            extra = ", default account manager" if is_default else ""
            self.stdout.write(f"  {email:<34} {name:<14} {Role(role).label}{extra}")
        self.stdout.write("Users that already existed keep the password they had.")
        self.portal_link()

    def portal_link(self):
        """A link into the payer portal as the first demo customer: in the demo, emails go to the console."""
        from portal.links import reminder_link

        customer = Customer.objects.filter(code="C-1001").first()
        if customer is None or not customer.contacts.exists():
            return
        link = reminder_link(customer=customer)
        self.stdout.write(f"\nThe payer portal as {customer.name} (valid for 30 days):\n  {link}")

    # --- the things every mode needs -------------------------------------------------------------

    def ensure_company(self):
        company = Company.load()
        if company.name in ("My Company", COMPANY["name"]):  # never rename someone's real company
            for field, value in COMPANY.items():
                setattr(company, field, value)
            company.save()
        return company

    def ensure_users(self):
        users = {}
        has_default = User.objects.filter(is_default_account_manager=True).exists()
        for email, name, role, is_default in USERS:
            user = User.objects.filter(email__iexact=email).first()
            if user is None:
                user = User.objects.create_user(
                    email=email,
                    password=DEMO_PASSWORD,
                    name=name,
                    role=role,
                    is_default_account_manager=is_default and not has_default,
                    is_superuser=role == Role.ADMIN,  # the admin uses every model in the Django admin
                )
                self.stdout.write(f"User {email} ({Role(role).label})")
            users[email] = user
        return users

    def ensure_workflow(self):
        if not Workflow.objects.filter(is_default=True).exists():
            Workflow.objects.update_or_create(
                name="Standard reminders",
                defaults={
                    "is_default": True,
                    "description": "Friendly reminder before the due date, "
                    "then firmer ones at 7, 21 and 45 days overdue.",
                },
            )

    # --- the demo company ----------------------------------------------------------------------------

    def seed_demo(self, company, users, seed):
        today = company.today()
        ams = [u for u in users.values() if u.role == Role.ACCOUNT_MANAGER]
        ar_admin = next(u for u in users.values() if u.role == Role.AR_ADMIN)
        admin = next(u for u in users.values() if u.role == Role.ADMIN)
        tags = {
            name: Tag.objects.get_or_create(name=name, defaults={"color": color})[0] for name, color in TAGS
        }
        created = skipped = 0
        for index, (name, country) in enumerate(CUSTOMERS, start=1):
            code = f"C-{1000 + index}"
            if Customer.objects.filter(code=code).exists():
                skipped += 1
                continue
            # one generator per customer: the same customer gets the same data however many exist
            rng = random.Random(f"{seed}:{code}")
            with transaction.atomic():
                self.seed_customer(
                    rng, company, today, index, code, name, country, ams, ar_admin, admin, tags
                )
            created += 1
        # a credit limit on the standard workflow, so Credit control and the hold badges show something
        Workflow.objects.filter(is_default=True, credit_limit_amount=None, credit_limit_days=None).update(
            credit_limit_amount=Decimal("250000"), credit_limit_days=210
        )
        total = Invoice.objects.filter(customer__code__in=[f"C-{1000 + i}" for i in range(1, 41)]).count()
        self.stdout.write(f"Demo customers: {created} created, {skipped} already there; {total} invoices.")

    def at(self, company, rng, day):
        """A believable office-hours moment on `day`, in the company's time zone."""
        moment = dt.datetime.combine(day, dt.time(rng.randint(9, 17), rng.randint(0, 59)), tzinfo=company.tz)
        return min(moment, timezone.now())  # never in the future: today's entries happened already

    def seed_customer(self, rng, company, today, index, code, name, country, ams, ar_admin, admin, tags):
        currency = COUNTRY_CURRENCY.get(country, "USD")
        rate, tax_rate, step = CURRENCIES[currency]
        whole = Decimal("1") if currency in ("IDR", "THB") else Decimal("0.01")
        manager = ams[index % len(ams)]
        customer = Customer.objects.create(
            code=code,
            name=name,
            currency=currency,
            account_manager=manager,
            payment_terms_days=rng.choice([14, 30, 30, 30, 45, 60]),
        )
        if index % 5 == 0:
            customer.default_viewers.add(ams[(index + 1) % len(ams)])
        customer.tags.add(*rng.sample(list(tags.values()), rng.choice([0, 1, 1, 2])))
        since = today - dt.timedelta(days=rng.randint(400, 900))
        timeline.record(
            customer,
            ActivityKind.CUSTOMER_CREATED,
            actor=manager,
            data={"code": code, "name": name},
            at=self.at(company, rng, since),
        )
        self.seed_contacts(rng, customer, country)

        due_later = []  # payments to make once every invoice is issued: (date, [(invoice, amount)])
        for j in range(rng.randint(6, 14)):
            open_ = j == 0 or rng.random() < 0.45  # the first stays open so every bucket shows up
            if open_:
                low, high = BUCKETS[list(BUCKETS)[(index + j) % len(BUCKETS)]]
            else:
                low, high = -15, 300
            # never issued in the future: not yet due means due within the payment terms
            due = today - dt.timedelta(days=rng.randint(max(low, -customer.payment_terms_days), high))
            issue = due - dt.timedelta(days=customer.payment_terms_days)
            lines = []
            for description, sgd_price, most in rng.sample(CATALOG, rng.choice([1, 1, 2, 2, 3, 4])):
                price = (sgd_price / rate * Decimal(rng.uniform(0.9, 1.15))) // step * step
                lines.append(LineInput(description, Decimal(rng.randint(1, most)), price, tax_rate))
            jitter = Decimal(rng.uniform(0.985, 1.015))
            invoice = issue_invoice(
                customer=customer,
                number=f"INV-{10000 + index * 100 + j}",
                issue_date=issue,
                due_date=due,
                lines=lines,
                exchange_rate=(rate * jitter).quantize(Decimal("0.00000001")),
                reference=f"PO-{rng.randint(10000, 99999)}",
                issued_by=manager,
                at=self.at(company, rng, issue),
            )
            if rng.random() < 0.12:
                self.seed_credit_note(rng, company, today, customer, invoice, j, manager, ar_admin, admin)
            invoice.refresh_from_db()
            if not open_:
                paid_on = min(today, max(issue, due + dt.timedelta(days=rng.randint(-10, 25))))
                due_later.append((paid_on, [(invoice, invoice.amount_due)]))
            elif rng.random() < 0.3 and invoice.amount_due > 1:
                share = Decimal(rng.uniform(0.2, 0.7))
                paid_on = min(today, issue + dt.timedelta(days=rng.randint(5, 40)))
                due_later.append((paid_on, [(invoice, (invoice.amount_due * share).quantize(whole))]))

        # a customer sometimes pays two invoices with one transfer
        payments = []
        for paid_on, allocations in sorted(due_later, key=lambda p: p[0]):
            last = payments[-1] if payments else None
            if last and len(last[1]) == 1 and (paid_on - last[0]).days < 7 and rng.random() < 0.4:
                last[1].extend(allocations)
            else:
                payments.append((paid_on, list(allocations)))
        for paid_on, allocations in payments:
            allocations = [(inv, amount) for inv, amount in allocations if amount > 0]
            if not allocations:
                continue
            method = rng.choice(
                [PaymentMethod.BANK_TRANSFER] * 6 + [PaymentMethod.CHEQUE, PaymentMethod.CARD]
            )
            record_payment(
                customer=customer,
                date=paid_on,
                amount=sum(a for _, a in allocations),
                currency=currency,
                allocations=allocations,
                method=method,
                reference=f"{'CHQ' if method == PaymentMethod.CHEQUE else 'TT'}-{rng.randint(100000, 999999)}",
                created_by=rng.choice([manager, ar_admin]),
                at=self.at(company, rng, paid_on),
            )

        if index % 7 == 3:
            overdue = Invoice.objects.overdue(today).filter(customer=customer).order_by("due_date").first()
            if overdue:
                record_promise_to_pay(
                    customer=customer,
                    amount=(overdue.amount_due / 2).quantize(whole),
                    date=today + dt.timedelta(days=rng.randint(3, 21)),
                    actor=manager,
                    at=self.at(company, rng, today - dt.timedelta(days=rng.randint(0, 5))),
                )

    def seed_contacts(self, rng, customer, country):
        domain = "".join(ch for ch in customer.name.lower().split(" pte")[0].split(" co.")[0] if ch.isalnum())
        domain = domain.removeprefix("pt")[:24] + ".test"  # a reserved TLD: no demo mail reaches anyone
        dial, landlines, mobiles, digits = PHONES[country]
        people = rng.sample(PEOPLE[country], min(len(PEOPLE[country]), rng.randint(1, 3)))
        for position, person in enumerate(people):
            mobile = f"{dial} {rng.choice(mobiles)}{rng.randint(10 ** (digits - 1), 10**digits - 1)}"
            Contact.objects.create(
                customer=customer,
                name=person,
                email=f"{person.split()[0].lower()}@{domain}" if position else f"accounts@{domain}",
                phone=f"{dial} {rng.choice(landlines)}{rng.randint(10 ** (digits - 1), 10**digits - 1)}",
                whatsapp=mobile if country != "TH" or rng.random() < 0.3 else "",
                line_id=f"{person.split()[0].lower()}.{rng.randint(10, 99)}" if country == "TH" else "",
                is_main=position == 0,
            )

    def seed_credit_note(self, rng, company, today, customer, invoice, j, manager, ar_admin, admin):
        amount = (invoice.total * Decimal(rng.uniform(0.05, 0.15))).quantize(Decimal("1"))
        created_on = min(today, invoice.issue_date + dt.timedelta(days=rng.randint(2, 20)))
        credit_note = create_credit_note(
            customer=customer,
            number=f"CN-{invoice.number[4:]}",
            date=created_on,
            amount=amount,
            invoice=invoice,
            created_by=rng.choice([manager, ar_admin]),
            reason=rng.choice(
                [
                    "Damaged goods on delivery",
                    "Short shipment",
                    "Pricing error on PO",
                    "Volume rebate",
                    "Late delivery penalty",
                ]
            ),
            at=self.at(company, rng, created_on),
        )
        if rng.random() < 0.7:  # the rest wait for approval
            approver = admin if credit_note.created_by == ar_admin else rng.choice([ar_admin, admin])
            approve_credit_note(
                credit_note=credit_note,
                approver=approver,
                at=self.at(company, rng, min(today, created_on + dt.timedelta(days=2))),
            )


class BulkSeeder:
    """Large volumes for bench/: rows written in batches, COPY on Postgres, bulk_create elsewhere."""

    INVOICE_COLUMNS = [
        "id",
        "number",
        "customer_id",
        "issue_date",
        "due_date",
        "currency",
        "exchange_rate",
        "subtotal",
        "tax",
        "total",
        "amount_paid",
        "amount_credited",
        "amount_due",
        "status",
        "source",
        "reference",
        "created_at",
        "updated_at",
    ]
    LINE_COLUMNS = [
        "invoice_id",
        "position",
        "description",
        "quantity",
        "unit_price",
        "tax_rate",
        "amount",
        "tax_amount",
    ]
    PAYMENT_COLUMNS = [
        "id",
        "customer_id",
        "date",
        "amount",
        "currency",
        "method",
        "reference",
        "source",
        "created_at",
    ]
    ALLOCATION_COLUMNS = ["payment_id", "invoice_id", "amount"]
    CURRENCY_CYCLE = ["SGD", "SGD", "USD", "IDR", "SGD", "THB", "SGD", "IDR", "USD", "THB"]
    # currency: subtotal range in whole units
    SUBTOTALS = {
        "SGD": (200, 30_000),
        "USD": (150, 25_000),
        "THB": (5_000, 900_000),
        "IDR": (2_000_000, 400_000_000),
    }

    def __init__(self, command, company, users, seed, batch_size):
        self.out = command.stdout
        self.today = company.today()
        self.ams = [u.pk for u in users.values() if u.role == Role.ACCOUNT_MANAGER]
        self.seed = seed
        self.batch_size = max(1, batch_size)
        self.postgres = connection.vendor == "postgresql"
        self.now = dt.datetime.now(dt.UTC)

    def currency_of(self, customer_index):
        return self.CURRENCY_CYCLE[customer_index % len(self.CURRENCY_CYCLE)]

    def customers(self, count):
        existing = Customer.objects.filter(code__startswith=BULK_PREFIX).count()
        started = time.monotonic()
        prefixes = [
            "Golden",
            "Pacific",
            "Lion",
            "Siam",
            "Harbour",
            "Eastern",
            "Nusantara",
            "Mekong",
            "Orchid",
            "Straits",
            "Sinar",
            "Bintang",
            "Jade",
            "Lotus",
            "Coral",
            "Summit",
        ]
        trades = [
            "Trading",
            "Logistics",
            "Foods",
            "Engineering",
            "Electronics",
            "Textiles",
            "Marine",
            "Pharma",
            "Retail",
            "Builders",
            "Packaging",
            "Hospitality",
        ]
        suffixes = {"SGD": "{} Pte Ltd", "USD": "{} Inc.", "IDR": "PT {}", "THB": "{} Co., Ltd."}
        for start in range(existing, count, self.batch_size):
            end = min(count, start + self.batch_size)
            rng = random.Random(f"{self.seed}:customers:{start}")
            with transaction.atomic():
                ids = self.reserve_ids(Customer, end - start)
                rows, contacts = [], []
                for pk, index in zip(ids, range(start, end), strict=True):
                    currency = self.currency_of(index)
                    code = f"{BULK_PREFIX}{index + 1:07d}"
                    name = suffixes[currency].format(
                        f"{rng.choice(prefixes)} {rng.choice(trades)} {index + 1}"
                    )
                    rows.append(
                        (
                            pk,
                            code,
                            name,
                            currency,
                            rng.choice([14, 30, 30, 45, 60]),
                            self.ams[index % len(self.ams)] if self.ams else None,
                            False,
                            "",
                            "manual",
                            self.now,
                            self.now,
                        )
                    )
                    contacts.append(
                        (
                            pk,
                            "Accounts payable",
                            f"ap@{code.lower()}.test",
                            f"+65 6{rng.randint(1000000, 9999999)}",
                            "",
                            "",
                            True,
                        )
                    )
                self.insert(
                    Customer,
                    [
                        "id",
                        "code",
                        "name",
                        "currency",
                        "payment_terms_days",
                        "account_manager_id",
                        "workflow_paused",
                        "workflow_pause_reason",
                        "source",
                        "created_at",
                        "updated_at",
                    ],
                    rows,
                )
                self.insert(
                    Contact,
                    ["customer_id", "name", "email", "phone", "whatsapp", "line_id", "is_main"],
                    contacts,
                )
            self.out.write(f"  customers {end:,} / {count:,} ({time.monotonic() - started:.1f} s)")

    def invoices(self, count, customer_count):
        customer_ids = list(
            Customer.objects.filter(code__startswith=BULK_PREFIX)
            .order_by("code")
            .values_list("id", flat=True)
        )[:customer_count]
        terms = dict(Customer.objects.filter(id__in=customer_ids).values_list("id", "payment_terms_days"))
        existing = Invoice.objects.filter(number__startswith=BULK_PREFIX).count()
        started = time.monotonic()
        for start in range(existing, count, self.batch_size):
            end = min(count, start + self.batch_size)
            rng = random.Random(f"{self.seed}:invoices:{start}")
            with transaction.atomic():
                self.invoice_batch(rng, start, end, customer_ids, terms)
            self.out.write(f"  invoices {end:,} / {count:,} ({time.monotonic() - started:.1f} s)")
        if self.postgres and count > existing:
            with connection.cursor() as cursor:
                for model in (Customer, Contact, Invoice, InvoiceLine, Payment, PaymentAllocation):
                    cursor.execute(f'ANALYZE "{model._meta.db_table}"')

    def invoice_batch(self, rng, start, end, customer_ids, terms):
        today, cents = self.today, Decimal(1).scaleb(-2)
        invoice_ids = self.reserve_ids(Invoice, end - start)
        invoices, lines, paid = [], [], []
        weights = [35, 25, 15, 10, 15]  # of the open invoices, per aging bucket
        for pk, index in zip(invoice_ids, range(start, end), strict=True):
            customer_index = index % len(customer_ids)
            customer_id = customer_ids[customer_index]
            currency = self.currency_of(customer_index)
            rate, tax_rate, _ = CURRENCIES[currency]
            is_open = rng.random() < 0.30
            if is_open:
                low, high = rng.choices(list(BUCKETS.values()), weights)[0]
            else:
                low, high = -15, 365
            due = today - dt.timedelta(days=rng.randint(max(low, -terms[customer_id]), high))
            issue = due - dt.timedelta(days=terms[customer_id])
            low_amount, high_amount = self.SUBTOTALS[currency]
            subtotal = rng.randint(low_amount, high_amount) * 100  # in cents
            if currency == "IDR":
                subtotal -= subtotal % 100_000  # whole thousands of rupiah
            tax = (subtotal * int(tax_rate) + 50) // 100
            total = subtotal + tax
            if not is_open:
                amount_paid = total
            elif rng.random() < 0.2:
                amount_paid = total * rng.randint(20, 80) // 100
            else:
                amount_paid = 0
            amount_due = total - amount_paid
            number = f"{BULK_PREFIX}INV-{index + 1:08d}"
            invoices.append(
                (
                    pk,
                    number,
                    customer_id,
                    issue,
                    due,
                    currency,
                    rate,
                    subtotal * cents,
                    tax * cents,
                    total * cents,
                    amount_paid * cents,
                    Decimal("0.00"),
                    amount_due * cents,
                    "open" if amount_due else "paid",
                    "manual",
                    "",
                    self.now,
                    self.now,
                )
            )
            description = CATALOG[index % len(CATALOG)][0]
            lines.append(
                (pk, 1, description, Decimal(1), subtotal * cents, tax_rate, subtotal * cents, tax * cents)
            )
            if amount_paid:
                paid_on = min(today, max(issue, due + dt.timedelta(days=rng.randint(-10, 25))))
                paid.append((pk, customer_id, paid_on, amount_paid * cents, currency, number))
        payment_ids = self.reserve_ids(Payment, len(paid))
        payments = [
            (
                payment_id,
                customer_id,
                paid_on,
                amount,
                currency,
                "bank_transfer",
                f"TT {number}",
                "manual",
                self.now,
            )
            for payment_id, (_, customer_id, paid_on, amount, currency, number) in zip(
                payment_ids, paid, strict=True
            )
        ]
        allocations = [
            (payment_id, row[0], row[3]) for payment_id, row in zip(payment_ids, paid, strict=True)
        ]
        self.insert(Invoice, self.INVOICE_COLUMNS, invoices)
        self.insert(InvoiceLine, self.LINE_COLUMNS, lines)
        self.insert(Payment, self.PAYMENT_COLUMNS, payments)
        self.insert(PaymentAllocation, self.ALLOCATION_COLUMNS, allocations)

    def reserve_ids(self, model, count):
        """Primary keys for rows about to be written, so their children can point at them."""
        if count == 0:
            return []
        table = model._meta.db_table
        with connection.cursor() as cursor:
            if self.postgres:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                    [table, count],
                )
                return [row[0] for row in cursor.fetchall()]
            # SQLite: one writer at a time, and this runs inside the batch's write transaction
            cursor.execute(f'SELECT COALESCE(MAX(id), 0) FROM "{table}"')
            first = cursor.fetchone()[0] + 1
            return list(range(first, first + count))

    def insert(self, model, columns, rows):
        if not rows:
            return
        if self.postgres:
            table = model._meta.db_table
            names = ", ".join(f'"{c}"' for c in columns)
            with connection.cursor() as cursor, cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            model.objects.bulk_create(
                (model(**dict(zip(columns, row, strict=True))) for row in rows), batch_size=2000
            )
