from django import template

from peakflo.models import Company
from peakflo.permissions import can_write
from workflows.task_selectors import open_tasks_of, task_holding_reminders

register = template.Library()


@register.inclusion_tag("actions/_customer_tasks.html", takes_context=True)
def customer_tasks(context, customer):
    """The customer page's Tasks card: open tasks, the reminder hold, and the Create task button."""
    today = context.get("today") or Company.load().today()
    user = context["request"].user
    return {
        "customer": customer,
        "today": today,
        "tasks": list(open_tasks_of(customer)[:5]),
        "open_count": open_tasks_of(customer).count(),
        "holding": task_holding_reminders(customer, today=today),
        "can_write": can_write(user),
    }
