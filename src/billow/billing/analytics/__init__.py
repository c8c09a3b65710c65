"""HTTP routes of the analytics Billow serves (overdue balance)."""
