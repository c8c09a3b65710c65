"""HTTP routes of one-off invoices, voiding and the invoice actions not available yet."""
