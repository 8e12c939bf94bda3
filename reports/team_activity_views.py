"""Team activity report: per person and per day, messages, tasks, disputes, notes and promises; page and export."""

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render

from peakflo.models import Company

from . import team_activity
from .analysis_views import xlsx_response
from .team_activity_filters import TeamActivityFilter

PEOPLE_PER_PAGE = 20


def _report(request):
    company = Company.load()
    today = company.today()
    filterset = TeamActivityFilter(
        request.GET,
        queryset=team_activity.counted_entries(request.user),
        user=request.user,
        tz=company.tz,
        default_from=today - dt.timedelta(days=team_activity.PERIOD_DAYS - 1),
        default_to=today,
    )
    period_from, period_to = filterset.period()
    report = team_activity.team_activity(filterset.qs, tz=company.tz, sort=request.GET.get("sort", ""))
    return {
        "company": company,
        "today": today,
        "filter": filterset,
        "period_from": period_from,
        "period_to": period_to,
        "report": report,
        "figures": team_activity.FIGURES,
        "bad_filters": filterset.problems(),
        "query": request.GET.copy(),
    }


@login_required
def team_activity_report(request):
    context = _report(request)
    context["page"] = Paginator(context["report"]["people"], PEOPLE_PER_PAGE).get_page(
        request.GET.get("page")
    )
    if request.htmx and not request.htmx.boosted:
        return render(request, "reports/team_activity_table.html", context)
    return render(request, "reports/team_activity.html", context)


@login_required
def team_activity_export(request):
    """Every person's days, then their total, then the team's: the rows the page shows, on one sheet."""
    context = _report(request)
    report = context["report"]
    headers = ["Person", "Day", *(label for _, label, _ in team_activity.FIGURES), "Total"]
    rows = []
    for person in report["people"]:
        rows.extend([person.name, day.day, *day.in_order(), day.total] for day in person.days)
        rows.append([person.name, "Total", *person.in_order(), person.total])
    team = report["team"]
    rows.append(["Team", "Total", *team.in_order(), team.total])
    sheet = f"Activity {context['period_from']:%Y-%m-%d} to {context['period_to']:%Y-%m-%d}"
    return xlsx_response("team-activity", headers, rows, sheet_title=sheet, today=context["today"])
