"""Dispatch to a local SMTP server: messages per second (target ≥ 200/s) and the ratio to plain
smtplib sending the same messages.

Run: .venv/bin/python bench/bench_dispatch.py [--messages N] [--rounds N] [--connections N] [--workers N]
Dispatch sends over --connections SMTP connections at once (DISPATCH_SEND_CONNECTIONS, 4); plain
smtplib is timed twice: over one connection, and over as many connections as dispatch used — the
second is the raw limit the ratio is taken against. Each message is built with the standard
library's EmailMessage, as a plain script would. With --rounds N everything runs N times (fresh
due runs each time) and every round is printed: the machine may be shared.
With --workers N, N processes dispatch the same due runs at once, as N Celery workers would.
Uses DATABASE_URL, or a database `peakflo_bench_dispatch` on the local PostgreSQL, which it creates
(a database of its own: dispatch sends every due reminder it finds). Runs with DEBUG off.
"""

import argparse
import datetime as dt
import os
import smtplib
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from email.message import EmailMessage

from _setup import report

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/peakflo_bench_dispatch")
# As in production: DEBUG off (Django then keeps no log of every query).
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "bench-dispatch-only")
from _setup import setup_django  # noqa: E402

PREFIX = "BENCH-D"


def wait_for_port(port, seconds=10):
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def seed(count):
    from customers.models import Contact, Customer
    from invoices.models import Invoice
    from peakflo.models import Company
    from workflows.models import Action, ActionRun, ActionType, Workflow

    Invoice.objects.filter(number__startswith=PREFIX).delete()
    Customer.objects.filter(code__startswith=PREFIX).delete()
    Company.objects.update_or_create(
        pk=1,
        defaults={
            "send_window_start": dt.time(0, 0),
            "send_window_end": dt.time.max,
            "send_weekdays": list(range(7)),
            "sender_email": "ar@seller.test",
        },
    )
    workflow, _ = Workflow.objects.update_or_create(name="Bench dispatch", defaults={"contact_delay_days": 0})
    action, _ = Action.objects.update_or_create(
        workflow=workflow,
        name="Bench reminder",
        defaults={
            "action_type": ActionType.EMAIL,
            "subject": "Invoice {{ invoiceNumber }} is overdue",
            "body": "Dear {{ recipientName }},\n\n{{ table_outstanding_invoices }}\n\nIn all {{ totalAmountDue }}.\n"
            "{{ accountManagerName }}",
        },
    )
    customers = Customer.objects.bulk_create(
        [
            Customer(code=f"{PREFIX}{i:06d}", name=f"Bench customer {i}", workflow=workflow)
            for i in range(count)
        ]
    )
    Contact.objects.bulk_create(
        [
            Contact(customer=c, name=f"Payer {c.code}", email=f"{c.code.lower()}@payer.test", is_main=True)
            for c in customers
        ]
    )
    today = Company.load().today()
    invoices = Invoice.objects.bulk_create(
        [
            Invoice(
                number=f"{PREFIX}-INV-{i:06d}",
                customer=c,
                currency="SGD",
                issue_date=today - dt.timedelta(days=40),
                due_date=today - dt.timedelta(days=10),
                subtotal=Decimal("120.00"),
                total=Decimal("120.00"),
                amount_due=Decimal("120.00"),
            )
            for i, c in enumerate(customers)
        ]
    )
    ActionRun.objects.bulk_create([ActionRun(action=action, invoice=inv, due_on=today) for inv in invoices])


def use_smtp(port):
    from django.conf import settings

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", port, False


def dispatch_in_worker(port, connections):
    """One of several processes dispatching at once: prints when it started and ended its work."""
    from workflows.dispatch import dispatch_due_runs

    use_smtp(port)
    started = time.time()
    summary = dispatch_due_runs(limit=50, connections=connections)
    print(f"{started} {time.time()} {summary.sent}", flush=True)


def dispatch_in_workers(count, port, connections):
    """Seconds from the first worker's start to the last one's end (Django's start-up left out)."""
    command = [sys.executable, __file__, "--smtp-port", str(port), "--connections", str(connections)]
    processes = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(count)]
    lines = [process.communicate()[0].split() for process in processes]
    return max(float(line[1]) for line in lines) - min(float(line[0]) for line in lines)


def plain_smtplib(messages, port, connections=1):
    """The same messages, each built with the standard library and sent over `connections` SMTP
    connections at once (one thread each, a share of the messages each)."""

    def send_share(share):
        with smtplib.SMTP("127.0.0.1", port) as smtp:
            for message in share:
                mail = EmailMessage()
                mail["Subject"], mail["From"], mail["To"] = message.subject, "ar@seller.test", message.to
                mail.set_content(message.body)
                mail.add_alternative(message.html, subtype="html")
                smtp.send_message(mail)

    shares = [messages[i::connections] for i in range(connections)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=connections) as pool:
        list(pool.map(send_share, shares))
    return time.perf_counter() - started


def one_round(args, port, connections):
    """Seed, dispatch, then send the same messages with plain smtplib: (dispatch s, plain s, plain
    over as many connections s)."""
    from workflows.dispatch import dispatch_due_runs
    from workflows.models import ActionRun, Message, RunStatus

    seed(args.messages)
    others = ActionRun.objects.filter(status=RunStatus.PENDING).exclude(invoice__number__startswith=PREFIX)
    if others.exists():
        raise SystemExit(f"{others.count()} other pending runs in this database: use a database of its own.")
    if args.workers > 1:
        elapsed = dispatch_in_workers(args.workers, port, connections)
        messages = list(Message.objects.filter(customer__code__startswith=PREFIX))
        sent = Message.objects.filter(customer__code__startswith=PREFIX, status="sent").count()
        assert sent == args.messages, f"{sent} of {args.messages} sent"
    else:
        started = time.perf_counter()
        summary = dispatch_due_runs(connections=connections)
        elapsed = time.perf_counter() - started
        assert summary.sent == args.messages, str(summary)
        messages = summary.messages
    for message in messages:  # the HTML part, rendered again for the plain run
        message.html = message.body.replace("\n", "<br>\n")
    plain = plain_smtplib(messages, port)
    plain_parallel = plain_smtplib(messages, port, connections) if connections > 1 else plain
    return elapsed, plain, plain_parallel


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=1, help="run everything this many times")
    parser.add_argument(
        "--connections", type=int, help="SMTP connections at once (DISPATCH_SEND_CONNECTIONS)"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="dispatch processes at once, as Celery workers"
    )
    parser.add_argument("--smtp-port", type=int, help=argparse.SUPPRESS)  # one of the --workers processes
    args = parser.parse_args()
    setup_django()
    from django.conf import settings

    connections = args.connections or settings.DISPATCH_SEND_CONNECTIONS
    if args.smtp_port:
        return dispatch_in_worker(args.smtp_port, connections)

    # The SMTP server runs in a process of its own, so it does not share this one's interpreter lock.
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Sink"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port)
    use_smtp(port)
    try:
        rounds = []
        for number in range(1, args.rounds + 1):
            elapsed, plain, plain_parallel = one_round(args, port, connections)
            rounds.append((elapsed, plain, plain_parallel))
            load = os.getloadavg()[0]
            parallel = (
                f", {plain_parallel:.2f} s ({args.messages / plain_parallel:,.0f}/s) over {connections}"
                if connections > 1
                else ""
            )
            print(
                f"round {number}: {args.messages:,} emails, {args.workers} dispatch process(es), "
                f"{connections} connection(s): dispatch {elapsed:.2f} s ({args.messages / elapsed:,.0f}/s); "
                f"plain smtplib {plain:.2f} s ({args.messages / plain:,.0f}/s) over 1 connection{parallel}; "
                f"load average {load:.1f} on {os.cpu_count()} cores",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait()

    elapsed, plain, plain_parallel = sorted(rounds)[len(rounds) // 2]  # the median round
    rate = args.messages / elapsed
    # report() reads "≤ 1.00 meets the target": seconds per 1,000 emails against 5 s (200 messages/s).
    report("dispatch seconds per 1,000 emails", 1000 / rate, "s", 5)
    parallel = f", {elapsed / plain_parallel:.2f}× over {connections}" if connections > 1 else ""
    print(
        f"dispatch: {rate:,.0f} messages/s (target ≥ 200/s; median of {len(rounds)} round(s)); "
        f"{elapsed / plain:.2f}× the time of plain smtplib over 1 connection{parallel}"
    )


if __name__ == "__main__":
    main()
