"""Pricing units: custom units charges may be priced in (a Billow CRUD; Lago has no REST for it)."""
