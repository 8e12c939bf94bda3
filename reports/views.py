from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from peakflo.models import Company

from . import charts, selectors


def _account_manager_id(request):
    value = request.GET.get("account_manager", "")
    return int(value) if value.isdigit() else None


@login_required
def dashboard(request):
    """The bird's-eye view of the receivables the user may see (or one account manager's, for admins)."""
    company = Company.load()
    user = request.user
    today = company.today()
    scope = selectors.dashboard_scope(user, today=today, account_manager_id=_account_manager_id(request))
    customer_count = scope.customer_count()
    context = {
        "company": company,
        "currency": company.base_currency,
        "today": today,
        "scope": scope,
        "figures_taken_at": scope.figures_run and scope.figures_run.started_at,
        "customer_count": customer_count,
        "account_managers": list(selectors.account_managers_to_narrow_to(user)),
        "tasks": selectors.my_tasks_due(user, today=today),
    }
    if customer_count:
        figures = selectors.dashboard_figures(scope)
        context.update(
            figures=figures,
            aging_chart=charts.aging_bars(figures["aging"]),
            trend_chart=charts.trend_chart(figures["trend"]),
            debtors=selectors.main_debtors(scope),
            disputes=selectors.open_disputes(scope),
            promises=selectors.promises(scope),
        )
    return render(request, "reports/dashboard.html", context)


@login_required
def reports_index(request):
    """The list of reports; each is an entry of templates/reports/_index_*.html."""
    return render(request, "reports/index.html", {"company": Company.load()})
