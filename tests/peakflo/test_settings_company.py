import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from peakflo.models import Company
from tests.conftest import PASSWORD


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def admin_client(client, admin_user):
    assert client.login(email=admin_user.email, password=PASSWORD)
    return client


def image_bytes(kind="PNG", size=(40, 20)):
    buffer = io.BytesIO()
    Image.new("RGB", size, "navy").save(buffer, kind)
    return buffer.getvalue()


def valid(**changes):
    data = {
        "name": "Acme Holdings",
        "address": "1 Raffles Place\nSingapore 048616",
        "base_currency": "usd",
        "time_zone": "Asia/Bangkok",
        "send_window_start": "09:00",
        "send_window_end": "17:30",
        "send_weekdays": ["0", "2", "4"],
        "sender_email": "ar@acme.test",
        "invoice_footer": "Thank you.",
        "brand_color": "#112233",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_the_page_shows_the_current_settings(admin_client, db):
    response = admin_client.get(reverse("settings_company"))

    assert response.status_code == 200
    assert 'value="SGD"' in response.text and 'value="Asia/Singapore"' in response.text
    assert 'name="send_weekdays" value="0"' in response.text and "autofocus" in response.text


def test_saving_valid_settings(admin_client, db):
    response = admin_client.post(
        reverse("settings_company"),
        valid(logo=SimpleUploadedFile("logo.png", image_bytes(), content_type="image/png")),
    )

    assert response.status_code == 302, response.context["form"].errors
    company = Company.load()
    assert company.name == "Acme Holdings" and company.base_currency == "USD"
    assert company.time_zone == "Asia/Bangkok"
    assert company.send_window_start == dt.time(9) and company.send_window_end == dt.time(17, 30)
    assert company.send_weekdays == [0, 2, 4] and company.sender_email == "ar@acme.test"
    assert company.logo.name.startswith("company/") and company.logo.read()[:4] == b"\x89PNG"


def test_removing_the_logo_deletes_the_file(admin_client, db, django_capture_on_commit_callbacks):
    admin_client.post(
        reverse("settings_company"),
        valid(logo=SimpleUploadedFile("logo.png", image_bytes(), content_type="image/png")),
    )
    old = Company.load().logo
    assert old

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("settings_company"), valid(**{"logo-clear": "on"}))

    assert not Company.load().logo
    assert not old.storage.exists(old.name)


def expect_refused(client, data, field, message):
    before = Company.objects.get(pk=Company.load().pk)  # as stored, not as first built
    snapshot = {f.attname: getattr(before, f.attname) for f in Company._meta.concrete_fields}

    response = client.post(reverse("settings_company"), data)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert message in response.text.replace("&#x27;", "'")
    after = Company.load()
    assert {f.attname: getattr(after, f.attname) for f in Company._meta.concrete_fields} == snapshot


def test_a_bad_currency_is_refused(admin_client, db):
    expect_refused(admin_client, valid(base_currency="XYZ"), "base_currency", "'XYZ' is not an ISO 4217")


def test_a_bad_time_zone_is_refused(admin_client, db):
    expect_refused(admin_client, valid(time_zone="Mars/Olympus"), "time_zone", "not a known time zone")


def test_a_window_that_ends_before_it_starts_is_refused(admin_client, db):
    data = valid(send_window_start="18:00", send_window_end="08:00")
    expect_refused(admin_client, data, "send_window_end", "must end after it starts")


def test_no_weekday_is_refused(admin_client, db):
    data = valid()
    del data["send_weekdays"]
    expect_refused(admin_client, data, "send_weekdays", "Choose at least one weekday")


def test_a_weekday_out_of_range_is_refused(admin_client, db):
    expect_refused(admin_client, valid(send_weekdays=["7"]), "send_weekdays", "Select a valid choice")


def test_a_logo_that_is_not_an_image_is_refused(admin_client, db):
    fake = SimpleUploadedFile("logo.png", b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "image/png")
    expect_refused(admin_client, valid(logo=fake), "logo", "Upload a valid image")


def test_an_image_kind_we_do_not_accept_is_refused(admin_client, db):
    bmp = SimpleUploadedFile("logo.png", image_bytes("BMP"), content_type="image/png")
    expect_refused(admin_client, valid(logo=bmp), "logo", "is not a PNG, JPEG, GIF or WebP image")


def test_a_logo_over_2_mb_is_refused(admin_client, db):
    big = Image.frombytes("RGB", (1200, 1200), bytes(range(256)) * (1200 * 1200 * 3 // 256))
    buffer = io.BytesIO()
    big.save(buffer, "PNG", compress_level=0)
    assert buffer.tell() > 2 * 1024 * 1024
    upload = SimpleUploadedFile("huge.png", buffer.getvalue(), content_type="image/png")
    expect_refused(admin_client, valid(logo=upload), "logo", "a logo may be at most 2 MB")


def test_a_bad_sender_address_and_colour_are_refused(admin_client, db):
    expect_refused(admin_client, valid(sender_email="not an address"), "sender_email", "valid email")
    expect_refused(admin_client, valid(brand_color="blue"), "brand_color", "#rrggbb")


def test_the_company_admin_goes_straight_to_the_one_row(admin_client, db):
    response = admin_client.get("/admin/peakflo/company/")

    assert response.status_code == 302 and response.url.endswith(
        f"/admin/peakflo/company/{Company.load().pk}/change/"
    )
    assert admin_client.get(response.url).status_code == 200
    assert admin_client.get("/admin/peakflo/company/add/").status_code == 403
