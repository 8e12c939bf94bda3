"""The invoice pages, one module per area: list, invoice page, create/edit, PDF, import."""
