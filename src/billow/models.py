"""Imports every table module so that ``metadata`` is complete (for Alembic and tests)."""

from __future__ import annotations

from billow.db.base import Base
from billow.jobs import models as _jobs
from billow.organizations import models as _organizations
from billow.webhooks import models as _webhooks

metadata = Base.metadata

__all__ = ["_jobs", "_organizations", "_webhooks", "metadata"]
