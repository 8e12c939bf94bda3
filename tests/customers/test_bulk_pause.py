from customers.models import Activity, ActivityKind, Customer
from tests.conftest import PASSWORD

URL = "/customers/bulk/"


def test_reminders_pause_for_many_customers_with_a_reason_and_resume(client, book, ar_admin):
    assert client.login(email=ar_admin.email, password=PASSWORD)
    ids = [book["acme"].pk, book["globex"].pk]

    missing_reason = client.post(URL, {"ids": ids, "reminders": "pause", "confirm": "1"})
    assert "Say why the reminders pause" in missing_reason.text
    assert not Customer.objects.filter(workflow_paused=True).exists()

    client.post(
        URL, {"ids": ids, "reminders": "pause", "pause_reason": "Payment plan agreed", "confirm": "1"}
    )

    paused = Customer.objects.filter(workflow_paused=True)
    assert set(paused.values_list("pk", flat=True)) == set(ids)
    assert set(paused.values_list("workflow_pause_reason", flat=True)) == {"Payment plan agreed"}
    entry = Activity.objects.get(customer=book["acme"], kind=ActivityKind.WORKFLOW)
    assert entry.data["reminders"] == "paused" and entry.data["reason"] == "Payment plan agreed"
    assert entry.actor_user == ar_admin

    client.post(URL, {"ids": ids, "reminders": "resume", "confirm": "1"})
    assert not Customer.objects.filter(workflow_paused=True).exists()
    assert Activity.objects.filter(customer=book["acme"], kind=ActivityKind.WORKFLOW).count() == 2
    page = client.get(f"/customers/{book['acme'].pk}/").text
    assert "Automatic reminders <strong>resumed</strong>" in page


def test_account_managers_cannot_pause_in_bulk(client, book, am_alice):
    assert client.login(email=am_alice.email, password=PASSWORD)

    response = client.post(
        URL, {"ids": [book["acme"].pk], "reminders": "pause", "pause_reason": "x", "confirm": "1"}
    )

    assert response.status_code == 403
    assert not Customer.objects.filter(workflow_paused=True).exists()
