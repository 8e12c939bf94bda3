"""Analysis reports: aging per account manager, disputes, actions; each a page, an HTMX partial and an export.

Every figure comes from reports.analysis, which keeps to the user's visible customers; the export
writes the same rows the page shows for the same parameters.
"""

import datetime as dt
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse

from peakflo.models import Company
from peakflo.spreadsheets import write_xlsx

from . import analysis, charts, selectors
from .selectors import AGING_BUCKETS

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATE = forms.DateInput(attrs={"type": "date"})


class AsOfForm(forms.Form):
    as_of = forms.DateField(required=False, label="As of", widget=DATE)

    def __init__(self, *args, today, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean_as_of(self):
        value = self.cleaned_data["as_of"]
        if value and value > self.today:
            raise forms.ValidationError(f"As of {value:%d %b %Y} is in the future; choose today or earlier.")
        return value


class PeriodForm(forms.Form):
    date_from = forms.DateField(required=False, label="From", widget=DATE)
    date_to = forms.DateField(required=False, label="To", widget=DATE)

    def __init__(self, *args, default_from, default_to, **kwargs):
        super().__init__(*args, **kwargs)
        self.default_from, self.default_to = default_from, default_to

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(
                f"The period starts on {start:%d %b %Y}, after it ends ({end:%d %b %Y}); swap the dates."
            )
        return data

    def period(self):
        """The chosen period, or the default one when the form is empty or wrong."""
        if self.is_bound and self.is_valid():
            return (
                self.cleaned_data["date_from"] or self.default_from,
                self.cleaned_data["date_to"] or self.default_to,
            )
        return self.default_from, self.default_to


def _render(request, template, context):
    """The whole page, or only its results for an HTMX request from the filter form."""
    if request.htmx and not request.htmx.boosted:
        return render(request, f"reports/{template}_table.html", context)
    return render(request, f"reports/{template}.html", context)


def xlsx_response(name, headers, rows, *, sheet_title, today):
    response = HttpResponse(write_xlsx(headers, rows, sheet_title=sheet_title), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{name}-{today:%Y-%m-%d}.xlsx"'
    return response


def money_cell(value):
    return round(value, 2)


# --- aging per account manager -------------------------------------------------------------------


def _aging(request):
    company = Company.load()
    today = company.today()
    form = AsOfForm(request.GET or None, today=today)
    as_of = form.cleaned_data["as_of"] if form.is_bound and form.is_valid() else None
    report = analysis.aging_by_manager(request.user, today=today, as_of=as_of)
    return company, today, form, report


def _aging_links(row, *, today, as_of):
    """Per column, the invoice list filtered to the row's invoices, when the list can show them."""
    if as_of != today or row.manager_id is None and row.name != "Total":
        return {}
    invoices = reverse("invoices")
    manager_id = row.manager_id
    keys = [key for key, *_ in AGING_BUCKETS] + ["total"]
    return {
        key: f"{invoices}?{urlencode(analysis.invoice_list_query(key, today=today, manager_id=manager_id))}"
        for key in keys
    }


def _aging_row(line, *, today, as_of):
    """A row as the table prints it: per column (the buckets, then the total) the amount and its link."""
    links = _aging_links(line, today=today, as_of=as_of)
    amounts = [*line.amounts(), ("total", line.total)]
    return {"line": line, "cells": [(amount, links.get(key)) for key, amount in amounts]}


@login_required
def aging_by_manager(request):
    company, today, form, report = _aging(request)
    as_of = report["as_of"]
    rows = [_aging_row(line, today=today, as_of=as_of) for line in report["rows"]]
    totals = _aging_row(report["totals"], today=today, as_of=as_of)
    context = {
        "company": company,
        "currency": company.base_currency,
        "today": today,
        "form": form,
        "as_of": as_of,
        # Today's figures may come from the set kept ready (reports.figures): the page says when.
        "figures_taken_at": report["figures_taken_at"],
        "rows": rows,
        "totals": totals,
        "buckets": AGING_BUCKETS,
        "query": request.GET.urlencode(),
    }
    return _render(request, "analysis_aging", context)


@login_required
def aging_by_manager_export(request):
    company, today, form, report = _aging(request)
    currency = company.base_currency
    headers = [
        "Account manager",
        "Customers",
        *(f"{label} ({currency})" for _, label, *_ in AGING_BUCKETS),
        f"Total ({currency})",
    ]
    rows = [
        [
            line.name,
            line.customers,
            *(money_cell(amount) for _, amount in line.amounts()),
            money_cell(line.total),
        ]
        for line in [*report["rows"], report["totals"]]
    ]
    sheet = f"Aging as of {report['as_of']:%Y-%m-%d}"
    return xlsx_response("aging-by-account-manager", headers, rows, sheet_title=sheet, today=today)


# --- the dashboard's aging card as of a date ------------------------------------------------------


def _account_manager_id(request):
    value = request.GET.get("account_manager", "")
    return int(value) if value.isdigit() else None


@login_required
def dashboard_aging_card(request):
    """The dashboard's aging card at a chosen date, within the dashboard's scope (an admin's
    narrowing to one account manager included); HTMX gets the card's body, a plain GET a page."""
    company = Company.load()
    today = company.today()
    form = AsOfForm(request.GET or None, today=today)
    as_of = (form.cleaned_data["as_of"] if form.is_bound and form.is_valid() else None) or today
    scope = selectors.dashboard_scope(
        request.user, today=today, account_manager_id=_account_manager_id(request)
    )
    aging = analysis.dashboard_aging(scope, as_of=as_of)
    context = {
        "company": company,
        "currency": company.base_currency,
        "today": today,
        "scope": scope,
        "as_of": as_of,
        "as_of_form": form,
        "aging": aging,
        "aging_chart": charts.aging_bars(aging),
    }
    if request.htmx and not request.htmx.boosted:
        return render(request, "reports/_dashboard_aging.html#aging-body", context)
    return render(request, "reports/analysis_aging_card.html", context)


# --- disputes ------------------------------------------------------------------------------------


def _disputes(request):
    company = Company.load()
    today = company.today()
    form = PeriodForm(
        request.GET or None,
        default_from=today - dt.timedelta(days=analysis.RESOLVED_PERIOD_DAYS),
        default_to=today,
    )
    resolved_from, resolved_to = form.period()
    return {
        "company": company,
        "currency": company.base_currency,
        "today": today,
        "form": form,
        "resolved_from": resolved_from,
        "resolved_to": resolved_to,
        "open": analysis.open_disputes_by_reason(request.user, today=today),
        "resolved": analysis.resolution_times(
            request.user, resolved_from=resolved_from, resolved_to=resolved_to
        ),
        "age_buckets": analysis.DISPUTE_AGE_BUCKETS,
        "query": request.GET.urlencode(),
    }


@login_required
def disputes_report(request):
    return _render(request, "analysis_disputes", _disputes(request))


def _days(value):
    return round(value, 1) if value is not None else None


@login_required
def disputes_report_export(request):
    """Two sheets' worth in one: the open disputes table, a blank row, then the resolution times."""
    context = _disputes(request)
    currency = context["currency"]
    headers = [
        "Reason",
        *(label for _, label, *_ in analysis.DISPUTE_AGE_BUCKETS),
        "Open disputes",
        f"Amount due ({currency})",
    ]
    open_ = context["open"]
    rows = [
        [line.reason, *line.in_order(), line.total, money_cell(line.amount)]
        for line in [*open_["rows"], open_["totals"]]
    ]
    rows.append([])
    rows.append(
        [
            f"Resolved {context['resolved_from']:%Y-%m-%d} to {context['resolved_to']:%Y-%m-%d}",
            "Disputes resolved",
            "Average days to resolve",
            "Median days to resolve",
        ]
    )
    resolved = context["resolved"]
    for row in resolved["rows"]:
        rows.append([row["reason__name"], row["disputes"], _days(row["average"]), _days(row["median"])])
    totals = resolved["totals"]
    rows.append(["Total", totals["disputes"], _days(totals["average"]), _days(totals["median"])])
    return xlsx_response("disputes-report", headers, rows, sheet_title="Disputes", today=context["today"])


# --- actions -------------------------------------------------------------------------------------


def _actions(request):
    company = Company.load()
    today = company.today()
    form = PeriodForm(
        request.GET or None,
        default_from=today - dt.timedelta(days=analysis.ACTIONS_PERIOD_DAYS - 1),
        default_to=today,
    )
    period_from, period_to = form.period()
    return {
        "company": company,
        "today": today,
        "form": form,
        "period_from": period_from,
        "period_to": period_to,
        "report": analysis.actions_by_owner(
            request.user, today=today, period_from=period_from, period_to=period_to
        ),
        "query": request.GET.urlencode(),
    }


@login_required
def actions_report(request):
    return _render(request, "analysis_actions", _actions(request))


@login_required
def actions_report_export(request):
    context = _actions(request)
    report = context["report"]
    headers = ["Owner", "Task type", "Due", "Done", "Done on time", "Overdue", "Done on time (%)"]
    rows = [
        [
            line.owner,
            line.kind_label,
            line.due,
            line.done,
            line.done_on_time,
            line.overdue,
            _days(line.on_time_share),
        ]
        for line in [*report["rows"], report["totals"]]
    ]
    sheet = f"Actions {context['period_from']:%Y-%m-%d} to {context['period_to']:%Y-%m-%d}"
    return xlsx_response("actions-report", headers, rows, sheet_title=sheet, today=context["today"])
