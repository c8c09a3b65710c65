"""Tax inputs. Fields are ``Any``: the service casts and checks them with Lago's error codes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class TaxInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Any = None
    code: Any = None
    rate: Any = None
    description: Any = None
    applied_to_organization: Any = None
