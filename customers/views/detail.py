"""The customer page: the account manager's workspace, and its HTMX partials."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from invoices.models import Invoice
from peakflo.models import Company

from .. import services
from ..models import ActivityKind, Contact, Customer, CustomerFile
from ..selectors import aging_of, promise_state, timeline_of
from .files import FileForm, attach_from_request, file_response

TIMELINE_PAGE = 25


class NoteForm(forms.Form):
    text = forms.CharField(
        label="Note", widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Only your team sees notes."})
    )


class PromiseForm(forms.Form):
    amount = forms.DecimalField(label="Amount", max_digits=14, decimal_places=2, min_value=0.01)
    date = forms.DateField(label="By", widget=forms.DateInput(attrs={"type": "date"}))


class ContactForm(forms.ModelForm):
    # Not a model field here: the service demotes the old main contact before the constraint applies.
    is_main = forms.BooleanField(label="Main contact", required=False)

    class Meta:
        model = Contact
        fields = ["name", "email", "phone", "whatsapp", "line_id"]


def visible_customer(user, pk):
    """The one access helper: a customer outside the user's visibility answers 404."""
    return get_object_or_404(
        Customer.objects.visible_to(user).select_related("account_manager", "workflow"), pk=pk
    )


def require_write(user):
    if getattr(user, "is_read_only", False):
        raise PermissionDenied("Auditors can look but not change anything.")


def _timeline_page(request, customer):
    kinds = [kind for kind in request.GET.getlist("kind") if kind in ActivityKind.values]
    paginator = Paginator(timeline_of(customer, kinds=kinds), TIMELINE_PAGE)
    return paginator.get_page(request.GET.get("page")), kinds


@login_required
def customer_detail(request, pk):
    customer = visible_customer(request.user, pk)
    company = Company.load()
    today = company.today()
    invoices = Invoice.objects.filter(customer=customer)
    aging = aging_of(invoices, today=today)
    page, kinds = _timeline_page(request, customer)
    context = {
        "customer": customer,
        "today": today,
        "aging": aging,
        "balance": sum(bucket["amount"] for bucket in aging),
        "overdue": sum(bucket["amount"] for bucket in aging[1:]),
        "promise": promise_state(customer, today=today),
        "invoices": invoices.order_by("-issue_date", "-id")[:20],
        "invoice_count": invoices.count(),
        "contacts": customer.contacts.all(),
        "tags": customer.tags.all(),
        "timeline": page,
        "kinds": kinds,
        "kind_choices": ActivityKind.choices,
        "note_form": NoteForm(),
        "file_form": FileForm(),
        "promise_form": PromiseForm(
            initial={"amount": customer.promise_amount, "date": customer.promise_date}
        ),
        "can_write": not request.user.is_read_only,
    }
    return render(request, "customers/detail.html", context)


@login_required
def customer_timeline(request, pk):
    """The timeline as a partial: filtering by kind, and 'load more'."""
    customer = visible_customer(request.user, pk)
    page, kinds = _timeline_page(request, customer)
    return render(
        request, "customers/_timeline.html", {"customer": customer, "timeline": page, "kinds": kinds}
    )


@login_required
@require_POST
def customer_add_note(request, pk):
    customer = visible_customer(request.user, pk)
    require_write(request.user)
    form = NoteForm(request.POST)
    if form.is_valid():
        services.add_note(customer=customer, text=form.cleaned_data["text"], actor=request.user)
        messages.success(request, "Note saved.")
    else:
        messages.error(request, "Write something before saving the note.")
    return redirect("customer_detail", pk=customer.pk)


@login_required
@require_POST
def customer_add_file(request, pk):
    customer = visible_customer(request.user, pk)
    require_write(request.user)
    attach_from_request(request, customer=customer)
    return redirect("customer_detail", pk=customer.pk)


@login_required
@require_POST
def customer_promise(request, pk):
    customer = visible_customer(request.user, pk)
    require_write(request.user)
    form = PromiseForm(request.POST)
    if form.is_valid():
        services.record_promise_to_pay(
            customer=customer,
            amount=form.cleaned_data["amount"],
            date=form.cleaned_data["date"],
            actor=request.user,
        )
        messages.success(request, "Promise to pay recorded.")
    else:
        errors = "; ".join(f"{form.fields[name].label}: {' '.join(e)}" for name, e in form.errors.items())
        messages.error(request, f"The promise was not saved. {errors}")
    return redirect("customer_detail", pk=customer.pk)


@login_required
def customer_file(request, pk, file_pk):
    """Files are served only through the customer's visibility, never from a public folder."""
    customer = visible_customer(request.user, pk)
    return file_response(get_object_or_404(CustomerFile, pk=file_pk, customer=customer))


@login_required
def contact_row(request, pk, contact_pk):
    """One contact, shown or edited in place (HTMX swaps the table row)."""
    customer = visible_customer(request.user, pk)
    contact = get_object_or_404(Contact, pk=contact_pk, customer=customer)
    editing = request.GET.get("edit") == "1" or request.method == "POST"
    form = None
    if editing:
        require_write(request.user)
        form = ContactForm(
            request.POST or None,
            instance=Contact.objects.get(pk=contact.pk),
            initial={"is_main": contact.is_main},
        )
        if request.method == "POST" and form.is_valid():
            fields = {name: form.cleaned_data[name] for name in [*form.Meta.fields, "is_main"]}
            contact = services.update_contact(contact=contact, actor=request.user, **fields)
            editing, form = False, None
    return render(
        request,
        "customers/_contact_row.html",
        {
            "customer": customer,
            "contact": contact,
            "form": form,
            "editing": editing,
            "can_write": not request.user.is_read_only,
        },
    )
