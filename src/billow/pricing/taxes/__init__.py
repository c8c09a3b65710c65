"""Taxes: the catalog of rates, and their application to the organization (default billing entity)."""
