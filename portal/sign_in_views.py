"""Signing in to the portal: ask for a link, open it, press the button; and signing out."""

from urllib.parse import unquote, urlsplit

from django import forms
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from peakflo.client_address import client_ip

from . import access, services
from .links import check_link

PORTAL_PREFIX = "/portal/"


class LinkRequestForm(forms.Form):
    email = forms.EmailField(
        label="Your email address",
        max_length=254,
        widget=forms.EmailInput(
            attrs={"autocomplete": "email", "autofocus": True, "placeholder": "you@company.com"}
        ),
    )


def safe_portal_next(request, target):
    """`target` when it is a path inside the portal on this site; else the portal's home."""
    if not target or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=False
    ):
        return reverse("portal_home")
    parts = urlsplit(target)
    path = unquote(parts.path)
    # Only a plain path under /portal/: no host, no backslashes, no ".." that a browser would resolve away.
    if parts.scheme or parts.netloc or "\\" in path or ".." in path or not path.startswith(PORTAL_PREFIX):
        return reverse("portal_home")
    return target


@require_http_methods(["GET", "POST"])
def sign_in(request):
    if access.signed_in_contact(request) is not None:
        return redirect(safe_portal_next(request, request.GET.get("next")))
    form = LinkRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        wanted = safe_portal_next(request, request.session.pop(access.NEXT_KEY, None))
        services.request_sign_in_links(
            email=form.cleaned_data["email"],
            client_ip=client_ip(request),
            next_path="" if wanted == reverse("portal_home") else wanted,
        )
        # The same page whether the address is known, unknown or over its limit.
        return render(request, "portal/link_sent.html")
    return render(request, "portal/sign_in.html", {"form": form})


@require_http_methods(["GET", "POST"])
def open_link(request, token):
    """GET shows a button; only the POST signs in, so mail scanners that follow links use nothing up."""
    check = check_link(token)
    if not check.usable:
        return render(request, "portal/link_invalid.html", {"problem": check.problem}, status=410)
    link = check.link
    next_path = safe_portal_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.method == "GET":
        return render(request, "portal/link_open.html", {"link": link, "next": next_path})
    contact = services.contact_for_link(link)
    if contact is None or not services.use_link(link):
        return render(
            request, "portal/link_invalid.html", {"problem": "used" if contact else "unknown"}, status=410
        )
    access.sign_in(request, contact)
    return redirect(next_path)


@require_POST
def sign_out(request):
    access.sign_out(request)
    return render(request, "portal/signed_out.html")
