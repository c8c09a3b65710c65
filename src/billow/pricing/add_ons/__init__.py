"""Add-ons: one-off catalog items (one-off invoices, fixed charges)."""
