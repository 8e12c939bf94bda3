import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from customers import timeline
from customers.models import Activity, ActivityKind, CustomerFile
from tests.conftest import PASSWORD

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def login(client, user):
    assert client.login(email=user.email, password=PASSWORD)


def url(customer, suffix=""):
    return f"/customers/{customer.pk}/{suffix}"


def test_the_page_shows_balance_aging_invoices_contacts(client, book, am_alice):
    login(client, am_alice)

    response = client.get(url(book["acme"]))

    assert response.status_code == 200
    assert response.context["balance"] == Decimal("109.00")
    assert [b["amount"] for b in response.context["aging"]] == [0, Decimal("109.00"), 0, 0, 0]
    assert "INV-0001" in response.text and "Ann Acme" in response.text and "Overdue" in response.text


@pytest.mark.parametrize("suffix", ["", "timeline/", "contacts/{contact}/"])
def test_outsiders_get_404_and_anonymous_goes_to_login(client, book, am_bob, suffix):
    contact = book["acme"].contacts.get()
    path = url(book["acme"], suffix.format(contact=contact.pk))

    assert client.get(path).status_code == 302
    login(client, am_bob)
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("suffix", ["notes/", "files/", "promise/"])
def test_outsiders_cannot_write_and_auditors_are_refused(client, book, am_bob, auditor, suffix):
    login(client, am_bob)
    assert client.post(url(book["acme"], suffix), {"text": "x"}).status_code == 404
    login(client, auditor)
    assert client.post(url(book["acme"], suffix), {"text": "x"}).status_code == 403
    assert not Activity.objects.filter(customer=book["acme"]).exists()


def test_a_note_lands_on_the_timeline(client, book, am_alice):
    login(client, am_alice)

    client.post(url(book["acme"], "notes/"), {"text": "Called Ann, <b>cheque</b> in the post"})

    note = Activity.objects.get(customer=book["acme"], kind=ActivityKind.NOTE)
    assert note.actor_user == am_alice
    page = client.get(url(book["acme"])).text
    assert "Called Ann, &lt;b&gt;cheque&lt;/b&gt; in the post" in page  # user text never runs as HTML


def test_a_screenshot_is_kept_shown_and_served_only_to_those_who_may_see_it(client, book, am_alice, am_bob):
    login(client, am_alice)

    client.post(
        url(book["acme"], "files/"), {"file": SimpleUploadedFile("chat.png", PNG), "description": "WhatsApp"}
    )

    kept = CustomerFile.objects.get(customer=book["acme"])
    assert kept.content_type == "image/png" and kept.uploaded_by == am_alice
    assert "chat.png" in client.get(url(book["acme"])).text
    assert client.get(url(book["acme"], f"files/{kept.pk}/")).status_code == 200
    login(client, am_bob)
    assert client.get(url(book["acme"], f"files/{kept.pk}/")).status_code == 404


def test_a_file_that_is_not_what_it_claims_is_refused(client, book, am_alice):
    login(client, am_alice)

    response = client.post(
        url(book["acme"], "files/"),
        {"file": SimpleUploadedFile("invoice.pdf", b"MZ\x90\x00\x03 windows exe")},
        follow=True,
    )

    assert "invoice.pdf is not an accepted kind of file" in response.text
    assert not CustomerFile.objects.exists()


def test_a_promise_is_recorded_and_breaks_when_its_date_passes_unpaid(client, book, am_alice):
    login(client, am_alice)
    tomorrow = dt.date.today() + dt.timedelta(days=1)

    client.post(url(book["acme"], "promise/"), {"amount": "109.00", "date": tomorrow.isoformat()})

    assert client.get(url(book["acme"])).context["promise"] == "pending"
    type(book["acme"]).objects.filter(pk=book["acme"].pk).update(
        promise_date=dt.date.today() - dt.timedelta(days=2)
    )
    assert client.get(url(book["acme"])).context["promise"] == "broken"


def test_timeline_filters_by_kind_and_loads_more(client, book, am_alice):
    login(client, am_alice)
    for i in range(30):
        timeline.record(book["acme"], ActivityKind.NOTE, actor=am_alice, data={"text": f"note {i}"})
    timeline.record(
        book["acme"],
        ActivityKind.PROMISE_TO_PAY,
        data={"amount": "5", "currency": "SGD", "date": "2026-12-01"},
    )

    first = client.get(url(book["acme"], "timeline/"))
    second = client.get(url(book["acme"], "timeline/"), {"page": 2})
    promises = client.get(url(book["acme"], "timeline/"), {"kind": "promise_to_pay"})

    assert len(first.context["timeline"].object_list) == 25 and "Load more" in first.text
    assert len(second.context["timeline"].object_list) == 6
    assert [e.kind for e in promises.context["timeline"].object_list] == ["promise_to_pay"]


def test_contact_edited_in_place_can_become_the_main_contact(client, book, am_alice):
    login(client, am_alice)
    acme = book["acme"]
    other = acme.contacts.create(name="Bea Acme", email="bea@acme.test")

    form = client.get(url(acme, f"contacts/{other.pk}/"), {"edit": "1"}, headers={"HX-Request": "true"})
    saved = client.post(
        url(acme, f"contacts/{other.pk}/"),
        {
            "name": "Bea Acme",
            "email": "bea@acme.test",
            "phone": "+65 6123 4567",
            "whatsapp": "",
            "line_id": "",
            "is_main": "on",
        },
    )

    assert "<form" in form.text and "<form" not in saved.text and "+65 6123 4567" in saved.text
    assert list(acme.contacts.filter(is_main=True).values_list("name", flat=True)) == ["Bea Acme"]
