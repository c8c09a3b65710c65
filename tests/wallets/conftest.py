"""Every wallet test ends with the ledger invariant (balance = Σ settled transactions)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.wallets.helpers import ledger_invariant


@pytest.fixture(autouse=True)
def _ledger_invariant(request: pytest.FixtureRequest) -> Iterator[None]:
    yield from ledger_invariant(request)
