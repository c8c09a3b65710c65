"""Job handlers: an explicit registry from job kind to handler, built at start-up."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from billow.db.context import Ctx


@dataclass(frozen=True)
class Reschedule:
    """Returned by a handler to commit its work and run the job again after ``after_seconds``."""

    after_seconds: float
    reason: str | None = None


HandlerResult = Reschedule | None
Handler = Callable[[Ctx, dict[str, Any]], HandlerResult]
Prepare = Callable[[Ctx, Sequence[dict[str, Any]]], None]


@dataclass(frozen=True)
class JobKind:
    name: str
    handler: Handler
    shares_reads: bool = False
    """The handler writes none of what it caches in ``Ctx.shared_reads`` (e.g. billing reads the
    catalog and never changes it): consecutive jobs of this kind in one claimed batch share that
    cache (see ``Worker.run_batch``)."""
    prepare: Prepare | None = None
    """Jobs of this kind may run as a group, in one transaction: the consecutive claimed jobs of
    one organization (``Worker.run_batch``). ``prepare(ctx, payloads)`` reads in bulk what the
    group's handlers will ask for into ``ctx.prefetched`` (``billow.db.prefetch``). The handler
    must give the same result with or without those reads, and must not rely on a commit between
    jobs; a failing job rolls the group back and every job of it runs again alone."""


class JobRegistry:
    def __init__(self, kinds: Iterable[JobKind]) -> None:
        self._handlers: dict[str, Handler] = {}
        self._sharing: set[str] = set()
        self._preparers: dict[str, Prepare] = {}
        for kind in kinds:
            if kind.name in self._handlers:
                raise ValueError(f"job kind {kind.name!r} registered twice")
            self._handlers[kind.name] = kind.handler
            if kind.shares_reads:
                self._sharing.add(kind.name)
            if kind.prepare is not None:
                self._preparers[kind.name] = kind.prepare

    def handler(self, kind: str) -> Handler | None:
        return self._handlers.get(kind)

    def shares_reads(self, kind: str) -> bool:
        return kind in self._sharing

    def preparer(self, kind: str) -> Prepare | None:
        """The bulk reads of a kind whose jobs run in groups (``JobKind.prepare``)."""
        return self._preparers.get(kind)

    @property
    def kinds(self) -> Mapping[str, Handler]:
        return dict(self._handlers)
