"""What holds an invoice's automatic reminders back, for the invoice page (the same holds as the engine's)."""

from django import template

register = template.Library()


@register.simple_tag
def reminder_holds(invoice, today):
    """{"promise": the invoice's promise while its date has not passed, "task": the open customer task
    due latest after today} — both hold the automatic reminders (workflows/engine.py)."""
    from workflows.task_selectors import task_holding_reminders

    promise_waits = invoice.promise_date is not None and invoice.promise_date >= today
    return {
        "promise": promise_waits,
        "promise_passed": invoice.promise_date is not None and invoice.promise_date < today,
        "task": task_holding_reminders(invoice.customer, today=today),
    }
