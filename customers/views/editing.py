"""Adding and editing a customer with its contacts."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render

from peakflo.models import Role
from peakflo.permissions import require_write

from .. import services
from ..forms import ContactFormSet, CustomerForm
from ..models import Customer


def _save(request, form, contacts, customer=None):
    """Call the service; a rule it enforces comes back as a form error rather than a 500."""
    data = form.cleaned_data
    changed_contacts = contacts.save(commit=False)
    common = {
        "actor": request.user,
        "default_viewers": data["default_viewers"],
        "tags": data["tags"],
        "new_tags": data["new_tags"],
        "contacts": changed_contacts,
    }
    fields = {
        name: data[name]
        for name in ("code", "name", "currency", "payment_terms_days", "account_manager", "workflow")
    }
    try:
        with transaction.atomic():
            if customer is None:
                return services.create_customer(**fields, **common)
            return services.update_customer(
                customer=customer, removed_contacts=contacts.deleted_objects, **fields, **common
            )
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.error_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form.add_error(None, exc)
        return None


@login_required
def customer_add(request):
    require_write(request.user)
    # An account manager adding a customer keeps it: otherwise it would vanish from their sight.
    mine = {"account_manager": request.user} if request.user.role == Role.ACCOUNT_MANAGER else {}
    form = CustomerForm(request.POST or None, initial=mine)
    contacts = ContactFormSet(request.POST or None, instance=Customer(), prefix="contacts")
    if request.method == "POST" and form.is_valid() and contacts.is_valid():
        customer = _save(request, form, contacts)
        if customer:
            messages.success(request, f"{customer.name} was added.")
            if not Customer.objects.visible_to(request.user).filter(pk=customer.pk).exists():
                return redirect("customers")
            return redirect("customer_detail", customer.pk)
    return render(request, "customers/form.html", {"form": form, "contacts": contacts, "customer": None})


@login_required
def customer_edit(request, pk):
    customer = get_object_or_404(Customer.objects.visible_to(request.user), pk=pk)
    require_write(request.user)
    form = CustomerForm(request.POST or None, instance=customer)
    contacts = ContactFormSet(request.POST or None, instance=customer, prefix="contacts")
    # A valid form writes its values onto `customer`; the service compares them with the stored row.
    valid = request.method == "POST" and form.is_valid() and contacts.is_valid()
    if valid and _save(request, form, contacts, customer=customer):
        messages.success(request, f"{customer.name} was saved.")
        return redirect("customer_detail", customer.pk)
    return render(request, "customers/form.html", {"form": form, "contacts": contacts, "customer": customer})
