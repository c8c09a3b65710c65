"""Plan inputs. Fields are ``Any``: the services cast and check them with Lago's error codes;
``model_fields_set`` tells which were sent. Nested objects stay plain JSON (see ``inputs.py``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class PlanInput(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: Any = None
    invoice_display_name: Any = None
    code: Any = None
    interval: Any = None
    description: Any = None
    amount_cents: Any = None
    amount_currency: Any = None
    trial_period: Any = None
    pay_in_advance: Any = None
    bill_charges_monthly: Any = None
    bill_fixed_charges_monthly: Any = None
    cascade_updates: Any = None
    metadata: Any = None
    tax_codes: Any = None
    minimum_commitment: Any = None
    charges: Any = None
    fixed_charges: Any = None
    usage_thresholds: Any = None

    def sent(self) -> dict[str, Any]:
        """The fields the request carried, as a plain mapping."""
        return {name: getattr(self, name) for name in self.model_fields_set}
