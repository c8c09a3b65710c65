"""Pure charge models (metering.md §3): usage in, price out. No database, no web code.

Build the registry once at start-up and pass it down::

    models = build_charge_model_registry()
    result = models[charge.charge_model].compute(ChargeInput(units=..., properties=...))

``compute`` applies the negative rule of §3.7; ``compute_raw`` does not (the pay-in-advance
delta of :mod:`.advance` uses it). Cents conversion is ``billow.core.money.to_cents``, except for
pricing units (:mod:`.pricing_units`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from billow.pricing.charge_models.advance import (
    AdvanceEvent,
    AdvanceResult,
    advance_amount_details,
    input_without_event,
    pay_in_advance_delta,
)
from billow.pricing.charge_models.base import (
    AmountDetails,
    ChargeInput,
    ChargeModel,
    ChargeResult,
    Projection,
    ProratedEventValue,
)
from billow.pricing.charge_models.custom import CustomModel
from billow.pricing.charge_models.dynamic import DynamicModel
from billow.pricing.charge_models.graduated import GraduatedModel
from billow.pricing.charge_models.graduated_percentage import GraduatedPercentageModel
from billow.pricing.charge_models.package import PackageModel
from billow.pricing.charge_models.percentage import PercentageModel
from billow.pricing.charge_models.pricing_units import PricingUnitConversion, convert_pricing_unit_amount
from billow.pricing.charge_models.properties import (
    CHARGE_MODELS,
    PreparedProperties,
    PropertyErrors,
    default_properties,
    normalize_properties,
    prepare_properties,
    properties_error_details,
    validate_charge_rules,
    validate_properties,
)
from billow.pricing.charge_models.proration import (
    prorated_graduated_amount,
    prorated_min_amount_cents,
    true_up_amount,
)
from billow.pricing.charge_models.standard import StandardModel
from billow.pricing.charge_models.volume import VolumeModel


def build_charge_model_registry() -> Mapping[str, ChargeModel]:
    """A fresh, read-only mapping ``charge_model`` name → model (one per Lago model)."""
    models: tuple[ChargeModel, ...] = (
        StandardModel(),
        GraduatedModel(),
        GraduatedPercentageModel(),
        PackageModel(),
        PercentageModel(),
        VolumeModel(),
        DynamicModel(),
        CustomModel(),
    )
    return MappingProxyType({model.name: model for model in models})


__all__ = [
    "CHARGE_MODELS",
    "AdvanceEvent",
    "AdvanceResult",
    "AmountDetails",
    "ChargeInput",
    "ChargeModel",
    "ChargeResult",
    "PreparedProperties",
    "PricingUnitConversion",
    "Projection",
    "PropertyErrors",
    "ProratedEventValue",
    "advance_amount_details",
    "build_charge_model_registry",
    "convert_pricing_unit_amount",
    "default_properties",
    "input_without_event",
    "normalize_properties",
    "pay_in_advance_delta",
    "prepare_properties",
    "properties_error_details",
    "prorated_graduated_amount",
    "prorated_min_amount_cents",
    "true_up_amount",
    "validate_charge_rules",
    "validate_properties",
]
