from django import template

register = template.Library()


@register.filter
def words(code):
    """A stored code as words: "bank_transfer" → "bank transfer", "pending_approval" → "pending approval"."""
    return str(code or "").replace("_", " ")
