"""Send a message by hand from the customer page: the form, its HTMX preview, and the send."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from customers.models import Customer
from peakflo.permissions import write_required

from .adhoc import preview_adhoc_message, send_adhoc_message
from .adhoc_forms import ACTION_TYPES_OF, AdhocMessageForm
from .models import Action, Channel
from .templating import PLACEHOLDERS

CHANNEL_OF_ACTION = {action_type: channel for channel, action_type in ACTION_TYPES_OF.items()}


def _customer(request, pk):
    return get_object_or_404(
        Customer.objects.visible_to(request.user).select_related("account_manager"), pk=pk
    )


def _initial(request):
    """A GET may carry the channel and an action whose template to start from."""
    channel = request.GET.get("channel") or Channel.EMAIL
    initial = {"channel": channel}
    template_id = request.GET.get("template")
    if template_id and template_id.isdigit():
        action = Action.objects.filter(pk=template_id).first()
        if action and action.action_type in CHANNEL_OF_ACTION:
            # The template decides the channel: an SMS template starts an SMS.
            channel = CHANNEL_OF_ACTION[action.action_type]
            initial.update(channel=channel, template=action.pk, subject=action.subject, body=action.body)
    for name in ("subject", "body"):
        if request.GET.get(name) and name not in initial:
            initial[name] = request.GET[name]
    if "contact" in request.GET:
        initial["contact"] = request.GET["contact"]
    initial["invoices"] = request.GET.getlist("invoices")
    return channel, initial


@write_required
def customer_message(request, pk):
    customer = _customer(request, pk)
    if request.method == "POST":
        form = AdhocMessageForm(request.POST, customer=customer)
        if form.is_valid():
            data = form.cleaned_data
            try:
                message = send_adhoc_message(
                    customer=customer,
                    channel=data["channel"],
                    contact=data["contact"],
                    subject=data["subject"],
                    body=data["body"],
                    invoices=list(data["invoices"]),
                    actor=request.user,
                )
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(request, f"{message.get_channel_display()} sent to {message.to}.")
            return redirect("customer_detail", customer.pk)
    else:
        channel, initial = _initial(request)
        form = AdhocMessageForm(initial=initial, customer=customer, channel=channel)
    return render(
        request,
        "workflows/adhoc/message_form.html",
        {"customer": customer, "form": form, "placeholders": sorted(PLACEHOLDERS.items())},
    )


@require_POST
@write_required
def customer_message_preview(request, pk):
    customer = _customer(request, pk)
    form = AdhocMessageForm(request.POST, customer=customer)
    context = {"form": form, "preview": None}
    if form.is_valid():
        data = form.cleaned_data
        try:
            context["preview"] = preview_adhoc_message(
                customer=customer,
                channel=data["channel"],
                contact=data["contact"],
                subject=data["subject"],
                body=data["body"],
                invoices=list(data["invoices"]),
            )
        except ValidationError as error:
            context["problems"] = error.messages
    else:
        context["problems"] = [error for errors in form.errors.values() for error in errors]
    context["channel"] = form.chosen_channel
    return render(request, "workflows/adhoc/_preview.html", context)
