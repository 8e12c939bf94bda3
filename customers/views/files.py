"""Files kept with a customer (or one of its invoices): the upload handler and the download, shared
by the customer and invoice pages. Access is checked by the caller, through the visibility rule."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse

from .. import services


class FileForm(forms.Form):
    file = forms.FileField(label="File or screenshot")
    description = forms.CharField(label="What is it?", required=False, max_length=300)


def attach_from_request(request, *, customer, invoice=None):
    """Check and keep the uploaded file; say what happened in a flash message. Returns it or None."""
    form = FileForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choose a file to upload.")
        return None
    try:
        kept = services.attach_file(
            customer=customer,
            invoice=invoice,
            upload=form.cleaned_data["file"],
            description=form.cleaned_data["description"],
            actor=request.user,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return None
    messages.success(
        request,
        f"{kept.name} is attached to {invoice.number}." if invoice else f"{kept.name} is on the timeline.",
    )
    return kept


def file_response(kept):
    """Images open in the browser; anything else downloads under its own name."""
    return FileResponse(
        kept.file.open("rb"),
        as_attachment=not kept.is_image,
        filename=kept.name,
        content_type=kept.content_type,
    )
