"""What the fee computation is built with: the charge-model registry and the usage source."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from billow.billing.fees.metered import AggregatedUsage
from billow.billing.fees.usage import UsageSource
from billow.pricing.charge_models import ChargeModel, build_charge_model_registry


@dataclass(frozen=True)
class FeeEngine:
    charge_models: Mapping[str, ChargeModel]
    usage: UsageSource


def build_fee_engine(usage: UsageSource | None = None) -> FeeEngine:
    """The charge models and, unless given, usage from the metering aggregation engine."""
    return FeeEngine(charge_models=build_charge_model_registry(), usage=usage or AggregatedUsage())
