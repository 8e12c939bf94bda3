"""Settings → Company holidays: admins and AR admins list, add, delete (confirmed) and export them."""

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from peakflo.models import Holiday
from tests.conftest import PASSWORD

URL = "/settings/holidays/"


def log_in(client, user):
    client.login(email=user.email, password=PASSWORD)
    return client


@pytest.fixture
def christmas(db):
    return Holiday.objects.create(date=dt.date(2026, 12, 25), name="Christmas Day")


@pytest.mark.parametrize("who", ["admin_user", "ar_admin"])
def test_admins_and_ar_admins_see_the_list(client, request, christmas, who):
    response = log_in(client, request.getfixturevalue(who)).get(URL)
    assert response.status_code == 200
    assert "Christmas Day" in response.text
    assert "Fri 25 Dec 2026" in response.text


def test_an_empty_list_says_what_holidays_are_for(client, ar_admin):
    page = log_in(client, ar_admin).get(URL).text
    assert "No company holidays yet" in page
    assert "Export to Excel" not in page


@pytest.mark.parametrize("who", ["am_alice", "collections_user", "auditor"])
def test_everyone_else_is_refused_and_changes_nothing(client, request, christmas, who):
    log_in(client, request.getfixturevalue(who))
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"date": "2026-12-26", "name": "Boxing Day"}).status_code == 403
    assert client.post(f"{URL}{christmas.pk}/delete/").status_code == 403
    assert client.get(f"{URL}export.xlsx").status_code == 403
    assert list(Holiday.objects.values_list("name", flat=True)) == ["Christmas Day"]


def test_signed_out_visitors_are_sent_to_sign_in(client, christmas):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/login" in response["Location"]


def test_the_settings_index_and_the_workflow_page_link_to_it(client, ar_admin, am_alice):
    from workflows.models import Workflow

    assert URL in log_in(client, ar_admin).get("/settings/").text
    workflow = Workflow.objects.get(is_default=True)
    assert URL in client.get(f"/settings/workflows/{workflow.pk}/").text
    client.logout()
    assert URL not in log_in(client, am_alice).get("/settings/").text


def test_add_a_holiday(client, ar_admin):
    response = log_in(client, ar_admin).post(URL, {"date": "2027-01-01", "name": " New Year's Day "})
    assert response.status_code == 302
    holiday = Holiday.objects.get()
    assert (holiday.date, holiday.name) == (dt.date(2027, 1, 1), "New Year's Day")
    assert "New Year&#x27;s Day on 1 Jan 2027 is a company holiday." in client.get(URL).text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"date": "31/12/2026", "name": "New Year's Eve"},
            "“31/12/2026” is not a date: write it as YYYY-MM-DD",
        ),
        ({"date": "2026-02-30", "name": "Leap"}, "“2026-02-30” is not a date"),
        ({"date": "", "name": "Nameless day"}, "Give the holiday&#x27;s date."),
        ({"date": "2026-12-31", "name": ""}, "Give the holiday a name"),
        (
            {"date": "2026-12-25", "name": "Christmas again"},
            "25 Dec 2026 is already a holiday: Christmas Day.",
        ),
    ],
)
def test_bad_input_says_what_is_wrong_and_adds_nothing(client, admin_user, christmas, data, message):
    response = log_in(client, admin_user).post(URL, data)
    assert response.status_code == 200
    assert message in response.text
    assert list(Holiday.objects.values_list("name", flat=True)) == ["Christmas Day"]


def test_delete_asks_first_then_deletes(client, ar_admin, christmas):
    log_in(client, ar_admin)
    confirm = client.get(f"{URL}{christmas.pk}/delete/")
    assert confirm.status_code == 200
    assert "Delete Christmas Day?" in confirm.text
    assert Holiday.objects.exists()

    response = client.post(f"{URL}{christmas.pk}/delete/")

    assert response.status_code == 302
    assert not Holiday.objects.exists()
    assert "Christmas Day on 25 Dec 2026 is no longer a company holiday." in client.get(URL).text


def test_deleting_a_missing_holiday_answers_404(client, ar_admin):
    assert log_in(client, ar_admin).post(f"{URL}999999/delete/").status_code == 404


def test_excel_export_lists_every_holiday_in_date_order(client, ar_admin, christmas):
    Holiday.objects.create(date=dt.date(2026, 8, 9), name="National Day")
    Holiday.objects.create(date=dt.date(2026, 12, 26), name='=HYPERLINK("http://evil")')

    response = log_in(client, ar_admin).get(f"{URL}export.xlsx")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="company-holidays.xlsx"'
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == ["Date", "Weekday", "Name"]
    assert [(row[0].date(), row[1], row[2]) for row in rows[1:]] == [
        (dt.date(2026, 8, 9), "Sunday", "National Day"),
        (dt.date(2026, 12, 25), "Friday", "Christmas Day"),
        (dt.date(2026, 12, 26), "Saturday", '\'=HYPERLINK("http://evil")'),
    ]
