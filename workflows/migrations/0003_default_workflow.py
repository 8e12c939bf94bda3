from django.db import migrations

FRIENDLY = """Dear {{ recipientName }},

This is a friendly reminder that invoice {{ invoiceNumber }} for {{ invoiceAmountDue }} is due on {{ invoiceDueDate }}.

{{ table_outstanding_invoices }}

You can see your invoices and pay at {{ customerPortalLink }}.

Kind regards,
{{ accountManagerName }}
{{ companyName }}"""

DUE_TODAY = """Dear {{ recipientName }},

Invoice {{ invoiceNumber }} for {{ invoiceAmountDue }} is due today. If you have already paid, thank you, and please ignore this message.

{{ table_outstanding_invoices }}

Pay or let us know about a problem at {{ customerPortalLink }}.

Kind regards,
{{ accountManagerName }}
{{ companyName }}"""

WHATSAPP = (
    "Hello {{ recipientName }}, invoice {{ invoiceNumber }} ({{ invoiceAmountDue }}) is {{ invoiceDaysOverdue }} days "
    "overdue. You owe {{ totalAmountDue }} in all. Details and payment: {{ customerPortalLink }} — {{ accountManagerName }}"
)

STEPS = [
    # name, trigger, days, type, subject, body
    (
        "Friendly reminder",
        "before_due",
        3,
        "email",
        "Invoice {{ invoiceNumber }} is due on {{ invoiceDueDate }}",
        FRIENDLY,
    ),
    ("Due today", "after_due", 0, "email", "Invoice {{ invoiceNumber }} is due today", DUE_TODAY),
    ("WhatsApp nudge", "after_due", 3, "whatsapp", "", WHATSAPP),
    ("Call the customer", "after_due", 7, "phone_call", "Call about invoice {{ invoiceNumber }}", ""),
    (
        "Escalate to manager",
        "after_due",
        14,
        "escalation",
        "Invoice {{ invoiceNumber }} is 14 days overdue",
        "",
    ),
    ("Formal letter", "after_due", 30, "letter", "Final notice: invoice {{ invoiceNumber }}", ""),
]


def create_default_workflow(apps, schema_editor):
    Workflow = apps.get_model("workflows", "Workflow")
    Action = apps.get_model("workflows", "Action")
    workflow = Workflow.objects.filter(is_default=True).first()
    if workflow is None:
        workflow, _ = Workflow.objects.get_or_create(
            name="Standard reminders",
            defaults={
                "description": "Email before and on the due date, then WhatsApp, a call, escalation and a letter."
            },
        )
        workflow.is_default = True
        workflow.save(update_fields=["is_default"])
    if workflow.actions.exists():
        return
    for name, trigger, days, action_type, subject, body in STEPS:
        Action.objects.create(
            workflow=workflow,
            name=name,
            trigger=trigger,
            days=days,
            action_type=action_type,
            subject=subject,
            body=body,
        )


class Migration(migrations.Migration):
    dependencies = [("workflows", "0002_engine")]

    operations = [migrations.RunPython(create_default_workflow, migrations.RunPython.noop)]
