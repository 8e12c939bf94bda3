"""Shared by the benchmarks: a Postgres database of their own, migrated, with Django set up."""

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/peakflo_bench"


def setup_django():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    os.environ.setdefault("DEBUG", "true")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peakflo.settings")
    _create_database(os.environ["DATABASE_URL"])

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _create_database(url):
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def report(name, figure, unit, limit, ratio=None, ratio_limit=None):
    """One line a benchmark: the figure, and its ratio to the raw limit (≤ 1.00 meets the target)."""
    line = f"{name}: {figure:,.2f} {unit} (limit {limit:,} {unit}: {figure / limit:.2f} of it)"
    if ratio is not None:
        line += f"; ratio {ratio:.2f} (limit {ratio_limit}: {ratio / ratio_limit:.2f} of it)"
    print(line)


def median_ms(run, runs):
    """Median wall time of `run()` in milliseconds over `runs` calls, after one warm-up call."""
    run()  # warm the caches, as a page seen twice
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def page_ms(client, url, runs):
    """Median server time of GET `url` through the Django test client (view, queries, template)."""

    def load():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    return median_ms(load, runs)


def print_load_average():
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


def bench_users():
    """The admin, the account manager with customers first by id (a third of the large book), and
    an account manager of a realistic size: a default viewer of 1,000 customers, added once."""
    from customers.models import Customer
    from peakflo.models import Role, User

    admin = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("pk").first()
    manager = (
        User.objects.filter(role=Role.ACCOUNT_MANAGER, is_active=True, managed_customers__isnull=False)
        .order_by("pk")
        .first()
    )
    viewer, _ = User.objects.get_or_create(
        email="bench.portfolio@example.com",
        defaults={"name": "Bench Portfolio", "role": Role.ACCOUNT_MANAGER},
    )
    if not viewer.viewed_customers.exists():
        viewer.viewed_customers.add(
            *Customer.objects.order_by("pk").values_list("pk", flat=True)[::100][:1000]
        )
    return admin, manager, viewer
