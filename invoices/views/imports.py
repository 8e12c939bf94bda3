"""Mass upload of invoices: the upload page, the job's progress (polled by HTMX), the template."""

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from customers.models import Customer
from peakflo.models import Company, ImportJob
from peakflo.spreadsheets import write_xlsx

from ..forms import ImportForm
from ..imports import KIND, OPTIONAL_COLUMNS, REQUIRED_COLUMNS, start_import
from .access import require_write
from .listing import XLSX


@login_required
def invoices_import(request):
    require_write(request.user)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = start_import(upload=form.cleaned_data["file"], actor=request.user)
        return redirect("import_job", pk=job.pk)
    recent = ImportJob.objects.filter(kind=KIND, created_by=request.user)[:5]
    context = {"form": form, "required": REQUIRED_COLUMNS, "optional": OPTIONAL_COLUMNS, "recent": recent}
    return render(request, "invoices/import.html", context)


def _visible_job(user, pk):
    """Only the person who uploaded the file, or an admin, sees how its import went."""
    job = get_object_or_404(ImportJob, pk=pk, kind=KIND)
    if not (user.is_admin or (job.created_by_id is not None and job.created_by_id == user.pk)):
        raise Http404("No such import.")
    return job


@login_required
def import_job(request, pk):
    job = _visible_job(request.user, pk)
    finished = job.status in (ImportJob.Status.DONE, ImportJob.Status.FAILED)
    context = {"job": job, "finished": finished}
    if request.htmx:
        return render(request, "invoices/_import_progress.html", context)
    return render(request, "invoices/import_job.html", context)


@login_required
def import_template(request):
    today = Company.load().today()
    example = Customer.objects.visible_to(request.user).order_by("code").first()
    row = [
        "INV-10001",
        example.code if example else "C-001",
        today,
        today + dt.timedelta(days=example.payment_terms_days if example else 30),
        example.currency if example else Company.load().base_currency,
        1090,
        90,
        1,
        "PO-4471",
    ]
    headers = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    response = HttpResponse(write_xlsx(headers, [row], sheet_title="Invoices"), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="peakflo-invoice-import-template.xlsx"'
    return response
