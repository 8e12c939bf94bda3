"""Changing many customers at once: bulk attributes, mass users assign, and the customer upload."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse

from peakflo import uploads
from peakflo.models import Company, Role

from .. import imports, services
from ..filters import CustomerFilter
from ..forms import BulkUpdateForm, SpreadsheetUploadForm
from ..models import Customer

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BULK_ROLES = {Role.ADMIN, Role.AR_ADMIN, Role.COLLECTIONS}
SAMPLE = 8


def can_change_in_bulk(user):
    return user.is_authenticated and user.is_active and (user.is_superuser or user.role in BULK_ROLES)


def list_context(user):
    """What the customer list needs for its Add and bulk buttons."""
    from peakflo.permissions import can_write

    from ..forms import active_users

    bulk = can_change_in_bulk(user)
    return {"can_write": can_write(user), "can_bulk": bulk, "bulk_managers": active_users() if bulk else []}


def require_bulk_role(user):
    if not can_change_in_bulk(user):
        raise PermissionDenied("Bulk changes are for admins, AR admins and collections.")


class Selection:
    """The customers a bulk change applies to: ticked ids, or every customer matching a list filter."""

    def __init__(self, user, data):
        self.filter_query = data.get("filter", "").lstrip("?")
        self.all_matching = data.get("scope") == "filter"
        self.ids = sorted({int(v) for v in data.getlist("ids") if v.isdigit()})
        self.problem = ""
        visible = Customer.objects.visible_to(user)
        if self.all_matching:
            query = QueryDict(self.filter_query, mutable=True)
            for key in ("page", "sort"):
                query.pop(key, None)
            self.filter_query = query.urlencode()
            filterset = CustomerFilter(query, queryset=visible, today=Company.load().today())
            if not filterset.is_valid():
                self.problem = "The filter is no longer valid; go back to the list and filter again."
                self.customers = visible.none()
            else:
                self.customers = filterset.qs
        else:
            self.customers = visible.filter(pk__in=self.ids)
        self.count = self.customers.count()
        if not self.count and not self.problem:
            self.problem = "No customers are selected: tick some in the list first."

    def sample(self):
        return list(self.customers.order_by("name").values_list("name", flat=True)[:SAMPLE])

    def hidden_fields(self):
        fields = [("filter", self.filter_query)]
        if self.all_matching:
            fields.append(("scope", "filter"))
        else:
            fields.extend(("ids", pk) for pk in self.ids)
        return fields

    def list_url(self):
        return reverse("customers") + (f"?{self.filter_query}" if self.filter_query else "")


def _describe(data):
    """What the change will do, in words for the confirmation page."""

    def names(items):
        return ", ".join(str(item) for item in items)

    lines = []
    if data.get("account_manager"):
        lines.append(f"Account manager becomes {data['account_manager']}")
    if data.get("add_viewers"):
        lines.append(f"Add default viewers: {names(data['add_viewers'])}")
    if data.get("remove_viewers"):
        lines.append(f"Remove default viewers: {names(data['remove_viewers'])}")
    if data.get("add_tags") or data.get("new_tags"):
        lines.append(f"Add tags: {names([*data['add_tags'], *data['new_tags']])}")
    if data.get("remove_tags"):
        lines.append(f"Remove tags: {names(data['remove_tags'])}")
    if data.get("workflow"):
        lines.append(f"Workflow becomes {data['workflow']}")
    if data.get("reminders") == "pause":
        lines.append(f"Pause automatic reminders: {data['pause_reason']}")
    if data.get("reminders") == "resume":
        lines.append("Resume automatic reminders (only each invoice's latest due step is sent: no burst)")
    return lines


@login_required
def bulk_update(request):
    require_bulk_role(request.user)
    data = request.POST if request.method == "POST" else request.GET
    selection = Selection(request.user, data)
    if request.POST.get("edit"):  # "More changes…" from the list: start the form from its choice
        form = BulkUpdateForm(initial={"account_manager": request.POST.get("account_manager") or None})
    else:
        form = BulkUpdateForm(request.POST or None)
    context = {"selection": selection, "form": form}
    if not form.is_bound or selection.problem or not form.is_valid():
        return render(request, "customers/bulk_update.html", context)
    if not request.POST.get("confirm"):
        context["changes"] = _describe(form.cleaned_data)
        return render(request, "customers/bulk_confirm.html", context)

    cleaned = form.cleaned_data
    changed = services.bulk_update_customers(
        customers=selection.customers,
        actor=request.user,
        account_manager=cleaned["account_manager"] or services.UNCHANGED,
        add_viewers=list(cleaned["add_viewers"]),
        remove_viewers=list(cleaned["remove_viewers"]),
        add_tags=[*cleaned["add_tags"], *services.tags_named(cleaned["new_tags"])],
        remove_tags=list(cleaned["remove_tags"]),
        workflow=cleaned["workflow"] or services.UNCHANGED,
        workflow_paused={"pause": True, "resume": False}.get(cleaned["reminders"], services.UNCHANGED),
        pause_reason=cleaned["pause_reason"],
    )
    messages.success(
        request,
        f"{changed:,} of {selection.count:,} selected customer{'s' * (selection.count != 1)} changed"
        + ("." if changed == selection.count else "; the others already were that way."),
    )
    return redirect(selection.list_url())


def _spreadsheet_page(request, *, template, run, template_url):
    require_bulk_role(request.user)
    form = SpreadsheetUploadForm(request.POST or None, request.FILES or None)
    context = {"form": form, "template_url": template_url}
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            uploads.check_spreadsheet(upload)
            context["summary"] = run(data=upload.read(), filename=upload.name, actor=request.user)
            context["filename"] = upload.name
        except ValidationError as refused:
            context["errors"], context["total_errors"] = refused.messages, 1
        except imports.SpreadsheetError as exc:
            context["errors"], context["total_errors"] = [str(exc)], 1
        except imports.ImportRejected as rejected:
            context["errors"] = [str(error) for error in rejected.errors]
            context["total_errors"] = rejected.total_errors
        context["filename"] = upload.name
    return render(request, template, context)


@login_required
def mass_assign(request):
    return _spreadsheet_page(
        request,
        template="customers/mass_assign.html",
        run=imports.mass_assign,
        template_url=reverse("customers_mass_assign_template"),
    )


@login_required
def upload(request):
    return _spreadsheet_page(
        request,
        template="customers/upload.html",
        run=imports.upload_customers,
        template_url=reverse("customers_upload_template"),
    )


def _xlsx(content, filename):
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def mass_assign_template(request):
    require_bulk_role(request.user)
    return _xlsx(imports.mass_assign_template(), "mass-assign-template.xlsx")


@login_required
def upload_template(request):
    require_bulk_role(request.user)
    return _xlsx(imports.upload_template(), "customers-template.xlsx")
