"""Shared by the benchmarks: a Postgres database of their own, migrated, with Django set up."""

import os
import sys
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
