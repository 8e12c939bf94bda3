import pytest

from workflows.templating import TemplateError, check, render, unknown_placeholders


def test_placeholders_are_filled_from_plain_values():
    text = "Dear {{ recipientName }}, invoice {{invoiceNumber}} is due on {{ invoiceDueDate }}."

    assert render(
        text, {"recipientName": "Ann", "invoiceNumber": "INV-1", "invoiceDueDate": "1 Dec 2026"}
    ) == ("Dear Ann, invoice INV-1 is due on 1 Dec 2026.")


def test_unknown_placeholders_are_named_when_saving():
    assert unknown_placeholders("{{ invoiceNumber }} {{ invoice.customer.delete }} {{ amountOwed }}") == [
        "invoice.customer.delete",
        "amountOwed",
    ]
    with pytest.raises(TemplateError, match=r"\{\{ amountOwed \}\}, which is not a placeholder"):
        check("Pay {{ amountOwed }} now", field="body")


def test_nothing_but_plain_names_is_accepted():
    # Attribute access, tags and filters are refused before anything renders.
    with pytest.raises(TemplateError) as refused:
        render(
            "{{ invoice.customer.delete }} {% for x in y %} {{ recipientName|upper }}", {"recipientName": "a"}
        )

    assert "invoice.customer.delete" in str(refused.value)
    assert "% for x in y %" in str(refused.value) and "recipientName|upper" in str(refused.value)


def test_html_rendering_escapes_user_text_and_values_but_keeps_the_engine_table():
    text = "<b>Hi</b> {{ recipientName }}\n{{ table_outstanding_invoices }}"

    rendered = render(
        text,
        {
            "recipientName": "<script>x</script>",
            "table_outstanding_invoices": "<table><tr><td>1</td></tr></table>",
        },
        html=True,
    )

    assert rendered == (
        "&lt;b&gt;Hi&lt;/b&gt; &lt;script&gt;x&lt;/script&gt;<br>\n<table><tr><td>1</td></tr></table>"
    )
