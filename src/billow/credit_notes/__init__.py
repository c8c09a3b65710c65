"""Credit notes (billing.md §6.4): creation (API, termination and upgrade of pay-in-advance
plans, invoice voiding), estimates, consumption by later invoices, voiding, refund status and
metadata, and the ``/credit_notes`` API."""
