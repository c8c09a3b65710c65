"""Add-on inputs. Fields are ``Any``: the service casts and checks them with Lago's error codes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class AddOnInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Any = None
    invoice_display_name: Any = None
    code: Any = None
    amount_cents: Any = None
    amount_currency: Any = None
    description: Any = None
    tax_codes: Any = None
