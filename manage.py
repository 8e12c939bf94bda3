#!/usr/bin/env python
import os
import sys
from pathlib import Path

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "peakflo.settings")
    # manage.py is the developer's and operator's tool: with nothing set (no DEBUG in the environment
    # or in .env) it runs in development mode. The web server (wsgi) defaults to production.
    from dotenv import load_dotenv

    load_dotenv(Path(__file__).resolve().parent / ".env")
    os.environ.setdefault("DEBUG", "true")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
