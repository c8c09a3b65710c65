"""Per-request plumbing: API-key authentication and the unit of work (one transaction)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from billow.core.errors import Unauthorized
from billow.core.ids import hash_api_key
from billow.db.context import Ctx
from billow.organizations.service import organization_id_for_key
from billow.runtime import Runtime

KEY_CACHE_TTL_SECONDS = 30.0


class ApiKeyCache:
    """Hash of key → organization id, kept briefly to spare a query per request; the hash of a
    key presented again within the TTL is remembered too (``lookup``), so a cached request does
    not hash at all."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[uuid.UUID, float]] = {}
        self._hashes: dict[str, str] = {}

    def get(self, key_hash: str) -> uuid.UUID | None:
        entry = self._entries.get(key_hash)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, key_hash: str, org_id: uuid.UUID) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
            self._hashes.clear()
        self._entries[key_hash] = (org_id, time.monotonic() + KEY_CACHE_TTL_SECONDS)

    def hash_of(self, token: str) -> str:
        """``hash_api_key(token)``, remembered (at most 10,000 keys)."""
        key_hash = self._hashes.get(token)
        if key_hash is None:
            key_hash = hash_api_key(token)
            if len(self._hashes) > 10_000:
                self._hashes.clear()
            self._hashes[token] = key_hash
        return key_hash


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    parts = header.split()
    if len(parts) < 2:
        return None
    return parts[1]


async def authenticated_org(request: Request) -> uuid.UUID:
    token = _bearer(request)
    if not token:
        raise Unauthorized()
    runtime = runtime_of(request)
    cache: ApiKeyCache = request.app.state.api_key_cache
    key_hash = cache.hash_of(token)
    org_id = cache.get(key_hash)
    if org_id is None:

        def lookup() -> uuid.UUID | None:
            with runtime.db.session() as session:
                return organization_id_for_key(session, token)

        org_id = await run_in_threadpool(lookup)
        if org_id is None:
            raise Unauthorized()
        cache.put(key_hash, org_id)
    return org_id


OrgId = Annotated[uuid.UUID, Depends(authenticated_org)]


async def raw_body(request: Request) -> bytes:
    return await request.body()


RawBody = Annotated[bytes, Depends(raw_body)]


@contextmanager
def unit_of_work(request: Request, org_id: uuid.UUID | None) -> Iterator[Ctx]:
    """One transaction for the request: committed before the response is built."""
    runtime = runtime_of(request)
    with runtime.db.session() as session:
        yield Ctx(
            session=session,
            clock=runtime.clock,
            settings=runtime.settings,
            organization_id=org_id,
            hooks=runtime.hooks,
        )
