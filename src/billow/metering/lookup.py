"""What ingestion needs to know about the metrics of a batch's codes, in one query (and a short cache)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select

from billow.db.context import Ctx
from billow.metering.expressions import Expression, parse_expression
from billow.metering.hooks import IngestionHooks
from billow.metering.models import BillableMetric


@dataclass(frozen=True, slots=True)
class IngestMetric:
    """The part of a metric that shapes a stored event: where its value is and how it is computed,
    and which ingestion listeners (``IngestionHooks``) want its inserted events."""

    code: str
    field_name: str | None
    expression: Expression | None
    listeners: frozenset[str] = frozenset()


class MetricResolver(Protocol):
    def __call__(self, ctx: Ctx, codes: Collection[str]) -> Mapping[str, IngestMetric]: ...


def load_ingest_metrics(ctx: Ctx, codes: Collection[str]) -> dict[str, IngestMetric]:
    """The organization's live metrics among ``codes`` (one query). Unknown codes are absent."""
    if not codes:
        return {}
    rows = ctx.session.execute(
        select(BillableMetric.code, BillableMetric.field_name, BillableMetric.expression).where(
            BillableMetric.organization_id == ctx.org_id,
            BillableMetric.deleted_at.is_(None),
            BillableMetric.code.in_(list(codes)),
        )
    ).all()
    wanted = _listeners_by_code(ctx, [row[0] for row in rows])
    return {
        code: _ingest_metric(code, field_name, expression, wanted.get(code, frozenset()))
        for code, field_name, expression in rows
    }


def _listeners_by_code(ctx: Ctx, codes: Collection[str]) -> dict[str, frozenset[str]]:
    """Which ingestion listeners want the events of each code (one question per listener)."""
    by_code: dict[str, set[str]] = {}
    if codes:
        for listener in ctx.hooks.get(IngestionHooks).listeners:
            for code in listener.wants(ctx, codes):
                by_code.setdefault(code, set()).add(listener.name)
    return {code: frozenset(names) for code, names in by_code.items()}


def _ingest_metric(
    code: str, field_name: str | None, expression: str | None, listeners: frozenset[str] = frozenset()
) -> IngestMetric:
    parsed = parse_expression(expression) if expression and expression.strip() else None
    return IngestMetric(code=code, field_name=field_name, expression=parsed, listeners=listeners)


_Entry = tuple[float, int, dict[str, "IngestMetric | None"]]
"""(expires at, generation, code → metric or None when the code has no metric)."""


class MetricCache:
    """Per-organization cache of ``code -> IngestMetric | None`` with a short TTL.

    Metric writes in this process call ``invalidate(org_id)``; other processes see a change
    after at most ``ttl_seconds``. A generation counter keeps a load that raced an invalidation
    from being stored.
    """

    def __init__(
        self,
        ttl_seconds: float = 5.0,
        *,
        loader: Callable[[Ctx, Collection[str]], Mapping[str, IngestMetric]] = load_ingest_metrics,
        max_codes_per_org: int = 10_000,
    ) -> None:
        self.ttl_seconds = ttl_seconds
        self._loader = loader
        self._max_codes = max_codes_per_org
        self._lock = threading.Lock()
        self._orgs: dict[uuid.UUID, _Entry] = {}
        self._generation: dict[uuid.UUID, int] = {}
        self._loading: dict[uuid.UUID, threading.Lock] = {}

    def invalidate(self, org_id: uuid.UUID) -> None:
        with self._lock:
            self._generation[org_id] = self._generation.get(org_id, 0) + 1
            self._orgs.pop(org_id, None)

    def cached(self, org_id: uuid.UUID, codes: Collection[str]) -> dict[str, IngestMetric] | None:
        """The cached metrics of ``codes`` without loading anything; ``None`` when any code is
        not (or no longer) cached."""
        now = time.monotonic()
        with self._lock:
            entry = self._orgs.get(org_id)
            if entry is None or entry[0] < now or entry[1] != self._generation.get(org_id, 0):
                return None
            known = entry[2]
            if any(c not in known for c in codes):
                return None
            return {c: m for c in codes if (m := known.get(c)) is not None}

    def __call__(self, ctx: Ctx, codes: Collection[str]) -> dict[str, IngestMetric]:
        org_id = ctx.org_id
        found, missing, entry, generation = self._lookup(org_id, codes)
        if not missing:
            return found
        session = getattr(ctx, "session", None)
        if session is not None and session.in_transaction():
            # Never wait for another load while holding locks (SQLite's writer lock): that load
            # may be waiting for them.
            return self._load(ctx, org_id, found, missing, entry, generation)
        # One load at a time per organization: when the entry expires under load, the requests
        # that miss together wait for the first one's load instead of each running their own.
        with self._loading_lock(org_id):
            found, missing, entry, generation = self._lookup(org_id, codes)
            if not missing:
                return found
            return self._load(ctx, org_id, found, missing, entry, generation)

    def _load(
        self,
        ctx: Ctx,
        org_id: uuid.UUID,
        found: dict[str, IngestMetric],
        missing: list[str],
        entry: _Entry,
        generation: int,
    ) -> dict[str, IngestMetric]:
        loaded = self._loader(ctx, missing)
        found.update(loaded)
        with self._lock:
            current = self._orgs.get(org_id)
            if current is entry and self._generation.get(org_id, 0) == generation:
                if len(entry[2]) + len(missing) > self._max_codes:
                    entry[2].clear()
                for code in missing:
                    entry[2][code] = loaded.get(code)
        return found

    def _lookup(
        self, org_id: uuid.UUID, codes: Collection[str]
    ) -> tuple[dict[str, IngestMetric], list[str], _Entry, int]:
        """(cached metrics of ``codes``, codes not cached, the live entry, its generation)."""
        now = time.monotonic()
        with self._lock:
            generation = self._generation.get(org_id, 0)
            entry = self._orgs.get(org_id)
            if entry is None or entry[0] < now or entry[1] != generation:
                entry = (now + self.ttl_seconds, generation, {})
                self._orgs[org_id] = entry
            known = entry[2]
            missing = [c for c in codes if c not in known]
            found = {c: m for c in codes if (m := known.get(c)) is not None}
        return found, missing, entry, generation

    def _loading_lock(self, org_id: uuid.UUID) -> threading.Lock:
        with self._lock:
            lock = self._loading.get(org_id)
            if lock is None:
                if len(self._loading) > 10_000:
                    self._loading.clear()
                lock = self._loading[org_id] = threading.Lock()
            return lock
