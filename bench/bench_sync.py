"""A first sync of 50,000 invoices from the local Xero: invoices per second, and the share of the
time spent in peakflo's own process against the emulator's.

The emulator (tests/accounting/xero_emulator.py) runs in a process of its own, filled with N
invoices over N/10 contacts (a payment on every third invoice), with its rate limits lifted and
schema validation off: what is measured is the sync, not Xero's 60 calls a minute (at that limit
alone, 50,000 invoices are 500 pages: at least 8 minutes 20 seconds, whatever the client does).

Run: .venv/bin/python bench/bench_sync.py [--invoices 50000]
Uses DATABASE_URL, or a database `peakflo_bench_sync` on the local PostgreSQL (emptied first).
"""

import argparse
import datetime as dt
import multiprocessing
import os
import resource
import sys
import time

from _setup import ROOT, print_load_average


def serve(invoices, ready, stop, usage):
    sys.path.insert(0, str(ROOT))
    from tests.accounting.xero_emulator import XeroEmulator

    xero = XeroEmulator()
    xero.validate = False
    xero.calls_per_minute = xero.concurrent_calls = xero.calls_per_day = 10**9
    contacts = [xero.add_contact(f"Bench Customer {n:05d}") for n in range(max(1, invoices // 10))]
    for n in range(invoices):
        invoice = xero.add_invoice(
            contacts[n % len(contacts)],
            100 + n % 900,
            number=f"XB-{n:06d}",
            date=dt.date(2026, 1, 1) + dt.timedelta(days=n % 300),
            due_date=dt.date(2026, 1, 31) + dt.timedelta(days=n % 300),
        )
        if n % 3 == 0:
            xero.add_payment(invoice, 50, date=dt.date(2026, 11, 1))
    started = resource.getrusage(resource.RUSAGE_SELF)
    xero.start()
    ready.put((xero.url, xero.tenant_id, xero.issue_tokens()))
    stop.wait()
    ended = resource.getrusage(resource.RUSAGE_SELF)
    usage.put((ended.ru_utime - started.ru_utime) + (ended.ru_stime - started.ru_stime))
    xero.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=50_000)
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/peakflo_bench_sync")
    from _setup import setup_django

    setup_django()
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from accounting.connectors import connector_for
    from accounting.connectors.xero import XeroConnector
    from accounting.models import Connection, Provider, SyncTrigger
    from accounting.sync import sync
    from invoices.models import Invoice

    call_command("flush", interactive=False, verbosity=0)
    context = multiprocessing.get_context("spawn")
    ready, usage, stop = context.Queue(), context.Queue(), context.Event()
    print(f"Filling the emulator with {args.invoices:,} invoices…")
    emulator = context.Process(target=serve, args=(args.invoices, ready, stop, usage), daemon=True)
    emulator.start()
    url, tenant_id, tokens = ready.get(timeout=600)
    settings.XERO_LOGIN_URL = settings.XERO_IDENTITY_URL = settings.XERO_API_URL = url
    settings.XERO_CLIENT_ID, settings.XERO_CLIENT_SECRET = "peakflo-test", "peakflo-test-secret"
    connection = Connection.objects.create(
        provider=Provider.XERO,
        tenant_id=tenant_id,
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        token_expires_at=timezone.now() + dt.timedelta(seconds=tokens["expires_in"]),
    )
    XeroConnector.calls_per_minute = 10**9  # the emulator's limits are lifted too: measure the sync
    print_load_average()
    cpu_before = time.process_time()
    started = time.perf_counter()
    run = sync(connection, connector=connector_for(connection), trigger=SyncTrigger.COMMAND)
    elapsed = time.perf_counter() - started
    ours = time.process_time() - cpu_before
    stop.set()
    theirs = usage.get(timeout=60)
    emulator.join(timeout=30)
    print_load_average()
    count = Invoice.objects.count()
    print(
        f"sync {run.status}: {run.created:,} created, {run.failed} failed, {elapsed:,.1f} s for {count:,} invoices"
    )
    print(f"first sync: {count / elapsed:,.0f} invoices/s (the issue sets no target; see bench/README.md)")
    print(
        f"CPU: peakflo {ours:,.1f} s ({ours / (ours + theirs):.0%}), emulator {theirs:,.1f} s "
        f"({theirs / (ours + theirs):.0%}); the rest of the wall time is PostgreSQL and waiting"
    )


if __name__ == "__main__":
    main()
