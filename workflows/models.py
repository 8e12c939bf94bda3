from django.db import models


class Workflow(models.Model):
    """A reminder schedule that customers follow; its actions arrive with the workflow engine."""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    is_default = models.BooleanField(default=False, help_text="Customers without a workflow follow this one.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="one_default_workflow",
                violation_error_message="Another workflow is already the default.",
            )
        ]

    def __str__(self):
        return self.name
