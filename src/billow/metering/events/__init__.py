"""Usage events: ingestion (single and batch), listing and lookup."""
