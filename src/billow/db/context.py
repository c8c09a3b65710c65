"""The unit-of-work context handed to services and job handlers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from billow.core.clock import Clock
from billow.core.hooks import Hooks
from billow.db.prefetch import Prefetched
from billow.settings import Settings


@dataclass
class Ctx:
    """One transaction (``session``), the injected clock, settings and the acting organization,
    and the hooks the composition root wired (``billow.core.hooks``)."""

    session: Session
    clock: Clock
    settings: Settings
    organization_id: uuid.UUID | None = None
    hooks: Hooks = field(default_factory=Hooks)
    shared_reads: dict[Any, Any] | None = None
    """Set by the worker for job kinds that declare ``shares_reads``: a cache of catalog reads
    (plain snapshots, never this session's ORM instances) shared by the consecutive jobs of that
    kind in one claimed batch. ``None`` everywhere else: every read goes to the database."""
    prefetched: Prefetched | None = None
    """Set by the worker for a group of jobs run in one transaction (``JobKind.prepare``): what
    the group's bulk reads found (``billow.db.prefetch``). ``None`` everywhere else."""

    def now(self) -> datetime:
        return self.clock.now()

    @property
    def org_id(self) -> uuid.UUID:
        if self.organization_id is None:
            raise RuntimeError("this operation needs an organization")
        return self.organization_id

    @property
    def dialect(self) -> str:
        bind = self.session.get_bind()
        return bind.dialect.name
