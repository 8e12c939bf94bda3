from celery import shared_task

from peakflo.models import ImportJob

from .imports import run_import_job


@shared_task(name="invoices.import_invoices", ignore_result=True)
def import_invoices_task(job_id):
    run_import_job(ImportJob.objects.get(pk=job_id))
