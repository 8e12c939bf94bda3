"""50 account managers browsing peakflo: customers (list, search, a customer's page and timeline),
invoices, the dashboard and reports. Run through bench/bench_load.py, which starts gunicorn, writes
the users' file and prints the figures; by hand:

    PEAKFLO_LOAD_USERS=users.json .venv/bin/locust -f bench/load/locustfile.py --host http://127.0.0.1:8000

PEAKFLO_LOAD_USERS names a JSON list of {"email", "password", "customers": [ids], "invoices": [ids]}:
the account managers to sign in as (virtual users take them in turn) and ids they may open.
"""

import itertools
import json
import os
import random
import re
import time
from pathlib import Path
from urllib.parse import urlparse

from locust import HttpUser, between, events, task

_users_file = os.environ.get("PEAKFLO_LOAD_USERS")
ACCOUNTS = json.loads(Path(_users_file).read_text()) if _users_file else []
_next_account = itertools.count()

# Words account managers type into the customer search: parts of names and of customer IDs.
SEARCHES = [
    "pharma",
    "foods",
    "pte",
    "engineering",
    "textiles",
    "lotus",
    "golden",
    "0042",
    "BULK-00123",
    "orchid",
]


def send_secure_cookies_over_http(jar):
    """The load goes to gunicorn over plain HTTP with X-Forwarded-Proto: https, as from the TLS proxy
    of a deployment; the session and CSRF cookies are Secure, so send them back anyway."""
    for cookie in jar:
        cookie.secure = False


class AccountManager(HttpUser):
    wait_time = between(2, 8)  # reading the page before the next click

    def on_start(self):
        account = ACCOUNTS[next(_next_account) % len(ACCOUNTS)]
        self.customers = account["customers"]
        self.invoices = account["invoices"]
        origin = "https://" + urlparse(self.host).netloc
        self.client.headers.update({"X-Forwarded-Proto": "https", "Origin": origin, "Referer": origin + "/"})
        form = self.client.get("/login/", name="login form")
        send_secure_cookies_over_http(self.client.cookies)
        with self.client.post(
            "/login/",
            {
                "username": account["email"],
                "password": account["password"],
                "csrfmiddlewaretoken": self.client.cookies.get("csrftoken", ""),
            },
            name="login",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302:
                response.failure(f"login refused: {response.status_code}")
        send_secure_cookies_over_http(self.client.cookies)
        # The page's stylesheet (its hashed name) through whitenoise, as the browser fetches it once.
        stylesheet = re.search(r'href="([^"]+\.css)"', form.text)
        self.client.get(
            stylesheet.group(1) if stylesheet else "/static/missing.css", name="static (whitenoise)"
        )

    def page(self, url, name, **kwargs):
        """A page counts when it answers 200 with itself: a redirect to the login is an error here."""
        with self.client.get(
            url, name=name, allow_redirects=False, catch_response=True, **kwargs
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} {response.headers.get('Location', '')}")

    @task(4)
    def customer_list(self):
        self.page("/customers/", name="customers: list")

    @task(2)
    def customer_search(self):
        self.page(f"/customers/?q={random.choice(SEARCHES)}", name="customers: search")

    @task(4)
    def customer_page(self):
        pk = random.choice(self.customers)
        self.page(f"/customers/{pk}/", name="customers: page")
        # The timeline's "load more" (an HTMX partial).
        self.page(
            f"/customers/{pk}/timeline/?page=2", headers={"HX-Request": "true"}, name="customers: timeline"
        )

    @task(3)
    def invoice_list(self):
        self.page("/invoices/", name="invoices: list")

    @task(2)
    def invoice_page(self):
        self.page(f"/invoices/{random.choice(self.invoices)}/", name="invoices: page")

    @task(3)
    def dashboard(self):
        self.page("/", name="dashboard")

    @task(1)
    def report_invoice_status(self):
        self.page("/reports/invoices/", name="reports: invoice status")

    @task(1)
    def report_customer_status(self):
        self.page("/reports/customers/", name="reports: customer status")

    @task(1)
    def report_aging_by_manager(self):
        self.page("/reports/aging-by-manager/", name="reports: aging by manager")

    @task(1)
    def report_credit_control(self):
        self.page("/reports/credit-control/", name="reports: credit control")


@events.test_start.add_listener
def _check_accounts(environment, **kwargs):
    if not ACCOUNTS:
        raise SystemExit("Set PEAKFLO_LOAD_USERS to the JSON file of account managers (see the docstring).")


# Every request's time, for exact percentiles (locust's own are rounded to two digits): written to
# PEAKFLO_LOAD_TIMES as [name, ms, failed, seconds since the start] when the run stops.
_times = []
_started = time.monotonic()


@events.request.add_listener
def _record(request_type, name, response_time, response_length, exception=None, **kwargs):
    _times.append([name, response_time, exception is not None, round(time.monotonic() - _started, 3)])


@events.test_stop.add_listener
def _write_times(environment, **kwargs):
    if os.environ.get("PEAKFLO_LOAD_TIMES"):
        Path(os.environ["PEAKFLO_LOAD_TIMES"]).write_text(json.dumps(_times))
