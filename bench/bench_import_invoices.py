"""Excel import of 100,000 invoice rows: target ≤ 60 s and within 2× openpyxl's read-only parse.

Run: .venv/bin/python bench/bench_import_invoices.py [--rows N]
Uses DATABASE_URL, or a database `peakflo_bench` on the local PostgreSQL, which it creates.
"""

import argparse
import datetime as dt
import io
import time

from _setup import report, setup_django


def build_workbook(rows, codes):
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Invoices")
    sheet.append(["invoice number", "customer ID", "issue date", "due date", "currency", "total", "tax"])
    issue = dt.date(2026, 1, 1)
    for i in range(rows):
        day = issue + dt.timedelta(days=i % 300)
        sheet.append(
            [
                f"BENCH-{i:07d}",
                codes[i % len(codes)],
                day,
                day + dt.timedelta(days=30),
                "SGD",
                1000 + i % 997,
                70,
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    setup_django()

    from openpyxl import load_workbook

    from customers.models import Activity, Customer
    from invoices.imports import import_invoices
    from invoices.models import Invoice

    Activity.objects.filter(invoice__number__startswith="BENCH-").delete()
    Invoice.objects.filter(number__startswith="BENCH-").delete()
    Customer.objects.bulk_create(
        [Customer(code=f"BENCH-C{i:05d}", name=f"Bench customer {i}") for i in range(2000)],
        ignore_conflicts=True,
    )
    codes = [f"BENCH-C{i:05d}" for i in range(2000)]
    data = build_workbook(args.rows, codes)
    print(f"{args.rows:,} rows, {len(data) / 1e6:.1f} MB")

    started = time.perf_counter()
    workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    for _ in workbook.worksheets[0].iter_rows(values_only=True):
        pass
    parse_seconds = time.perf_counter() - started

    started = time.perf_counter()
    summary = import_invoices(data=data, filename="bench.xlsx")
    import_seconds = time.perf_counter() - started
    assert summary.created == args.rows

    print(
        f"openpyxl read-only parse: {parse_seconds:.2f} s; import: {import_seconds:.2f} s "
        f"({args.rows / import_seconds:,.0f} rows/s)"
    )
    scaled = import_seconds * 100_000 / args.rows
    report("import of 100,000 rows", scaled, "s", 60, ratio=import_seconds / parse_seconds, ratio_limit=2)


if __name__ == "__main__":
    main()
