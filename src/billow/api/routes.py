"""Every router mounted under ``/api/v1``. Add a domain's router here."""

from __future__ import annotations

from fastapi import APIRouter

from billow.organizations.api import router as organizations
from billow.testclock.api import router as testclock
from billow.webhooks.api import router as webhooks


def api_routers() -> list[APIRouter]:
    return [organizations, webhooks, testclock]
