"""Names of the wallets package's prefetched flags (``billow.db.prefetch``)."""

REFRESH_FLAG = "wallets.active_for_refresh"
"""The customer has an active wallet: its ongoing balance is refreshed after a finalization."""
