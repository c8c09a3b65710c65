"""``Hooks``: what a package lets the packages built on it do, wired once at start-up.

A package sometimes needs an answer only a package above it can give (customers ask whether a
customer has subscriptions or invoices; billable metrics ask whether a plan charges them) or must
let those packages react (deleting a customer terminates its subscriptions). Importing upwards
would make a cycle, so the lower package declares a *hook kind*: a frozen dataclass of callbacks
whose defaults do nothing, read with ``ctx.hooks.get(Kind)``. The composition root
(``billow.runtime.build_hooks``) fills each kind from the upper packages and hands the result to
every unit of work (API requests, job handlers, scheduler ticks).

A kind nobody registered reads as its defaults (``Kind()``), so a unit of work built without
hooks (a test's bare session) behaves as the package does on its own.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TypeVar, cast

K = TypeVar("K")


class Hooks:
    """An immutable registry of hook kinds, one instance per kind (looked up by its class)."""

    def __init__(self, *kinds: object) -> None:
        by_kind: dict[type, object] = {}
        for kind in kinds:
            if type(kind) in by_kind:
                raise ValueError(f"hook kind {type(kind).__name__} registered twice")
            by_kind[type(kind)] = kind
        self._by_kind = MappingProxyType(by_kind)

    def get(self, kind: type[K]) -> K:
        found = self._by_kind.get(kind)
        return cast(K, found) if found is not None else kind()

    def __contains__(self, kind: type) -> bool:
        return kind in self._by_kind

    @property
    def kinds(self) -> tuple[type, ...]:
        return tuple(self._by_kind)
