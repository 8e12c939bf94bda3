"""customers.timeline.record: the one way to write the timeline."""

import datetime as dt

import pytest
from django.utils import timezone

from customers import timeline
from customers.models import Activity, ActivityKind


def test_records_a_user_actor(book, am_alice):
    activity = timeline.record(book["acme"], ActivityKind.NOTE, actor=am_alice, data={"text": "Called AP"})
    activity.refresh_from_db()
    assert activity.actor_user == am_alice
    assert activity.actor_contact is None
    assert activity.data == {"text": "Called AP"}
    assert activity.actor_label == str(am_alice)


def test_records_a_contact_actor(book):
    contact = book["acme"].contacts.get()
    activity = timeline.record(
        book["acme"], ActivityKind.DISPUTE_RAISED, invoice=book["invoices"][0], actor=contact
    )
    activity.refresh_from_db()
    assert activity.actor_contact == contact
    assert activity.actor_user is None
    assert activity.invoice == book["invoices"][0]


def test_records_peakflo_itself_when_no_actor(book):
    activity = timeline.record(book["acme"], ActivityKind.MESSAGE_SENT)
    assert activity.actor_user is None and activity.actor_contact is None
    assert activity.actor_label == "peakflo"
    assert activity.data == {}


def test_refuses_an_unknown_kind(book):
    with pytest.raises(ValueError, match="Unknown timeline kind"):
        timeline.record(book["acme"], "teleported")
    assert not Activity.objects.exists()


def test_refuses_an_invoice_of_another_customer(book):
    globex_invoice = book["invoices"][1]
    with pytest.raises(ValueError, match="does not belong"):
        timeline.record(book["acme"], ActivityKind.NOTE, invoice=globex_invoice)
    assert not Activity.objects.exists()


def test_newest_first(book):
    now = timezone.now()
    older = timeline.record(book["acme"], ActivityKind.NOTE, at=now - dt.timedelta(days=2))
    newest = timeline.record(book["acme"], ActivityKind.NOTE, at=now)
    middle = timeline.record(book["acme"], ActivityKind.NOTE, at=now - dt.timedelta(days=1))
    same_moment = timeline.record(book["acme"], ActivityKind.NOTE, at=now)  # ties: the later write first
    assert list(book["acme"].activities.all()) == [same_moment, newest, middle, older]
