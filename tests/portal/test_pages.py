"""The signed-in pages: overview with balance and aging, invoices, PDFs, credit notes, payments."""

import pytest

pytestmark = pytest.mark.django_db


def test_overview_shows_balance_and_aging_in_the_customer_currency(ann_client):
    page = ann_client.get("/portal/").content.decode()
    # 100 + 200 + 250 + 400 + 500 open; the paid invoice adds nothing.
    assert "SGD\u00a01,450.00" in page
    for amount in (
        "SGD\u00a0100.00",
        "SGD\u00a0200.00",
        "SGD\u00a0250.00",
        "SGD\u00a0400.00",
        "SGD\u00a0500.00",
    ):
        assert amount in page
    assert "Acme Pte Ltd" in page and "Globex" not in page
