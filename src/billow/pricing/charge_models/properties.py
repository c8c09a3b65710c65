"""Charge ``properties``: defaults, slicing to the model's keys, and validation (§3.1–3.2).

Pure functions over JSON-like values (as parsed from the request body):

* :func:`normalize_properties` — model defaults when ``properties`` is blank, keep only the
  model's keys, ``grouped_by`` → ``pricing_group_keys``, ``custom_properties`` JSON text parsed.
* :func:`validate_properties` — Lago's per-field error codes ``{field: [code, …]}`` (empty when
  valid). Lago reports them on a charge (or charge filter) as ``{"properties": [codes]}``:
  :func:`properties_error_details` builds that form.
* :func:`validate_charge_rules` — the charge-level compatibility matrix of §3.1.

Money and rate fields must be JSON *strings* holding a finite decimal ≥ 0 (a JSON number is
rejected); ``package_size``, ``free_units`` and ``free_units_per_events`` must be JSON integers;
range bounds must be JSON numbers.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any, TypeGuard

CHARGE_MODELS: tuple[str, ...] = (
    "standard",
    "graduated",
    "graduated_percentage",
    "package",
    "percentage",
    "volume",
    "dynamic",
    "custom",
)

PropertyErrors = dict[str, list[str]]

_MODEL_KEYS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "standard": ("amount",),
        "graduated": ("graduated_ranges",),
        "volume": ("volume_ranges",),
        "graduated_percentage": ("graduated_percentage_ranges",),
        "package": ("amount", "free_units", "package_size"),
        "percentage": (
            "fixed_amount",
            "free_units_per_events",
            "free_units_per_total_aggregation",
            "per_transaction_max_amount",
            "per_transaction_min_amount",
            "rate",
        ),
        "dynamic": (),
        "custom": (),
    }
)

PAY_IN_ADVANCE_AGGREGATIONS: frozenset[str] = frozenset(
    {"count_agg", "sum_agg", "unique_count_agg", "custom_agg"}
)
_PRESENTATION_ITEM_KEYS: frozenset[str] = frozenset({"value", "options"})
MAX_PRESENTATION_GROUP_KEYS = 2


# --------------------------------------------------------------------------- defaults & slicing


def _open_range(**amounts: str) -> dict[str, Any]:
    return {"from_value": 0, "to_value": None, **amounts}


def default_properties(charge_model: str) -> dict[str, Any]:
    """Properties a charge gets when none are given (a fresh dict each call)."""
    if charge_model == "standard":
        return {"amount": "0"}
    if charge_model == "graduated":
        return {"graduated_ranges": [_open_range(per_unit_amount="0", flat_amount="0")]}
    if charge_model == "volume":
        return {"volume_ranges": [_open_range(per_unit_amount="0", flat_amount="0")]}
    if charge_model == "package":
        return {"package_size": 1, "amount": "0", "free_units": 0}
    if charge_model == "percentage":
        return {"rate": "0"}
    if charge_model == "graduated_percentage":
        return {"graduated_percentage_ranges": [_open_range(rate="0", fixed_amount="0", flat_amount="0")]}
    return {}


def is_present(value: object) -> bool:
    """Rails' ``present?``: not None, False, an empty collection or a blank string."""
    if value is None or value is False:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, Sequence | Mapping):
        return len(value) > 0
    return True


def allowed_keys(charge_model: str, properties: Mapping[str, Any], *, custom_agg: bool = False) -> list[str]:
    keys = ["custom_properties"] if custom_agg else []
    keys.extend(_MODEL_KEYS.get(charge_model, ()))
    if charge_model in _MODEL_KEYS:
        pricing_keys_present = is_present(properties.get("pricing_group_keys"))
        if is_present(properties.get("grouped_by")) and not pricing_keys_present:
            keys.append("grouped_by")
        if pricing_keys_present:
            keys.append("pricing_group_keys")
        if is_present(properties.get("presentation_group_keys")):
            keys.append("presentation_group_keys")
    return keys


def normalize_properties(
    charge_model: str, properties: Mapping[str, Any] | None, *, custom_agg: bool = False
) -> dict[str, Any]:
    """Defaults when blank, then only the model's keys (unknown keys silently dropped).

    ``grouped_by`` (deprecated) becomes ``pricing_group_keys`` when the latter is blank; empty
    strings are removed from a list of group keys. ``custom_properties`` (kept for ``custom_agg``
    metrics only) given as JSON text is parsed, unparsable text becoming ``{}``.
    """
    source: Mapping[str, Any] = properties if properties else default_properties(charge_model)
    keys = allowed_keys(charge_model, source, custom_agg=custom_agg)
    sliced = {key: copy.deepcopy(source[key]) for key in keys if key in source}

    grouped_by = sliced.pop("grouped_by", None)
    group_keys = sliced.get("pricing_group_keys")
    if is_present(grouped_by) and not is_present(group_keys):
        group_keys = grouped_by
    if is_present(group_keys):
        if isinstance(group_keys, list) and all(isinstance(key, str) for key in group_keys):
            group_keys = [key for key in group_keys if key]
        sliced["pricing_group_keys"] = group_keys

    custom = sliced.get("custom_properties")
    if isinstance(custom, str) and is_present(custom):
        try:
            sliced["custom_properties"] = json.loads(custom)
        except ValueError:
            sliced["custom_properties"] = {}
    return sliced


# --------------------------------------------------------------------------- value checks


def is_valid_amount(value: object) -> bool:
    """A JSON string holding a finite decimal ≥ 0."""
    if not isinstance(value, str):
        return False
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        return False
    return number.is_finite() and number >= 0


def is_json_integer(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _bound(value: object) -> Decimal | None:
    """A range bound as a Decimal, ``None`` when it is not a JSON number."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    return number if number.is_finite() else None


class _Errors:
    def __init__(self) -> None:
        self.by_field: PropertyErrors = {}

    def add(self, field: str, code: str) -> None:
        codes = self.by_field.setdefault(field, [])
        if code not in codes:
            codes.append(code)


# --------------------------------------------------------------------------- ranges


@dataclass(frozen=True, slots=True)
class _RangeRules:
    field: str
    missing_code: str
    invalid_code: str
    volume: bool = False
    percentage: bool = False


_GRADUATED = _RangeRules("graduated_ranges", "missing_graduated_ranges", "invalid_graduated_ranges")
_VOLUME = _RangeRules("volume_ranges", "missing_volume_ranges", "invalid_volume_ranges", volume=True)
_GRADUATED_PERCENTAGE = _RangeRules(
    "graduated_percentage_ranges",
    "missing_graduated_percentage_ranges",
    "invalid_graduated_percentage_ranges",
    percentage=True,
)


def _check_range_amounts(tier: Mapping[str, Any], rules: _RangeRules, errors: _Errors) -> None:
    if rules.percentage:
        if not is_valid_amount(tier.get("flat_amount")):
            errors.add("flat_amount", "invalid_amount")
        if not is_valid_amount(tier.get("rate")):
            errors.add("rate", "invalid_rate")
        return
    if not is_valid_amount(tier.get("per_unit_amount")):
        errors.add("per_unit_amount", "invalid_amount")
    if not is_valid_amount(tier.get("flat_amount")):
        errors.add("flat_amount", "invalid_amount")


def _valid_bounds(tier: Mapping[str, Any], is_last: bool, next_from: Decimal) -> bool:
    start = _bound(tier.get("from_value"))
    if start is None or start not in (next_from, next_from + 1):
        return False
    raw_end = tier.get("to_value")
    if is_last:
        return raw_end is None
    end = Decimal(0) if raw_end is None else _bound(raw_end)
    return end is not None and end > start


def _validate_ranges(properties: Mapping[str, Any], rules: _RangeRules, errors: _Errors) -> None:
    ranges = properties.get(rules.field)
    if ranges is None or (isinstance(ranges, list) and not ranges):
        errors.add(rules.field, rules.missing_code)
        return
    if not isinstance(ranges, list):
        errors.add(rules.field, rules.invalid_code)
        return
    next_from = Decimal(0)
    for index, tier in enumerate(ranges):
        if not isinstance(tier, Mapping):
            errors.add(rules.field, rules.invalid_code)
            continue
        _check_range_amounts(tier, rules, errors)
        if not _valid_bounds(tier, index == len(ranges) - 1, next_from):
            errors.add(rules.field, rules.invalid_code)
        end = _bound(tier.get("to_value")) or Decimal(0)
        next_from = end + 1 if rules.volume else end


# --------------------------------------------------------------------------- per model


def _validate_standard(properties: Mapping[str, Any], errors: _Errors) -> None:
    if not is_valid_amount(properties.get("amount")):
        errors.add("amount", "invalid_amount")


def _validate_package(properties: Mapping[str, Any], errors: _Errors) -> None:
    if not is_valid_amount(properties.get("amount")):
        errors.add("amount", "invalid_amount")
    free_units = properties.get("free_units")
    if not (is_json_integer(free_units) and free_units >= 0):
        errors.add("free_units", "invalid_free_units")
    package_size = properties.get("package_size")
    if not (is_json_integer(package_size) and package_size > 0):
        errors.add("package_size", "invalid_package_size")


def _validate_not_latest(aggregation_type: str | None, errors: _Errors) -> None:
    if aggregation_type == "latest_agg":
        errors.add("billable_metric", "invalid_value")


def _validate_percentage(
    properties: Mapping[str, Any], errors: _Errors, aggregation_type: str | None, premium: bool
) -> None:
    _validate_not_latest(aggregation_type, errors)
    if not is_valid_amount(properties.get("rate")):
        errors.add("rate", "invalid_rate")
    fixed_amount = properties.get("fixed_amount")
    if fixed_amount is not None and not is_valid_amount(fixed_amount):
        errors.add("fixed_amount", "invalid_fixed_amount")
    free_events = properties.get("free_units_per_events")
    if free_events is not None and not (is_json_integer(free_events) and free_events > 0):
        errors.add("free_units_per_events", "invalid_free_units_per_events")
    free_total = properties.get("free_units_per_total_aggregation")
    if free_total is not None and not is_valid_amount(free_total):
        errors.add("free_units_per_total_aggregation", "invalid_free_units_per_total_aggregation")
    if premium:
        _validate_min_max(properties, errors)


def _validate_min_max(properties: Mapping[str, Any], errors: _Errors) -> None:
    minimum = properties.get("per_transaction_min_amount")
    maximum = properties.get("per_transaction_max_amount")
    for field, value in (("per_transaction_min_amount", minimum), ("per_transaction_max_amount", maximum)):
        if is_present(value) and not is_valid_amount(value):
            errors.add(field, "invalid_amount")
    if (
        is_valid_amount(minimum)
        and is_valid_amount(maximum)
        and Decimal(str(minimum)) > Decimal(str(maximum))
    ):
        errors.add("per_transaction_max_amount", "per_transaction_max_lower_than_per_transaction_min")


# --------------------------------------------------------------------------- group keys


def _validate_pricing_group_keys(properties: Mapping[str, Any], errors: _Errors) -> None:
    field = "pricing_group_keys" if properties.get("pricing_group_keys") is not None else "grouped_by"
    keys = properties.get(field)
    if keys is None or (isinstance(keys, list) and not keys):
        return
    if isinstance(keys, list) and all(isinstance(key, str) and is_present(key) for key in keys):
        return
    errors.add(field, "invalid_type")


def _valid_presentation_item(item: object) -> bool:
    if not isinstance(item, Mapping) or "value" not in item:
        return False
    if not set(item) <= _PRESENTATION_ITEM_KEYS:
        return False
    value = item["value"]
    if not (isinstance(value, str) and is_present(value)):
        return False
    if "options" not in item:
        return True
    options = item["options"]
    return (
        isinstance(options, Mapping)
        and list(options) == ["display_in_invoice"]
        and isinstance(options["display_in_invoice"], bool)
    )


def _validate_presentation_group_keys(properties: Mapping[str, Any], errors: _Errors) -> None:
    raw = properties.get("presentation_group_keys")
    if not is_present(raw):
        return
    items = raw if isinstance(raw, list) else None
    if items is None or not all(_valid_presentation_item(item) for item in items):
        errors.add("presentation_group_keys", "invalid_type")
    if isinstance(raw, Sequence | Mapping) and len(raw) > MAX_PRESENTATION_GROUP_KEYS:
        errors.add("presentation_group_keys", "too_many_keys")
    values = [item["value"] for item in items or [] if _valid_presentation_item(item)]
    if len(values) != len(set(values)):
        errors.add("presentation_group_keys", "value_is_duplicated")


# --------------------------------------------------------------------------- entry points


def validate_properties(
    charge_model: str,
    properties: Mapping[str, Any],
    *,
    aggregation_type: str | None = None,
    premium: bool = True,
) -> PropertyErrors:
    """Lago's property validation for ``charge_model``: ``{field: [codes]}``, empty when valid.

    ``aggregation_type`` (the metric's) enables the ``billable_metric: invalid_value`` check of
    percentage models on ``latest_agg``; ``premium`` enables the per-transaction min/max checks.
    Validate the *normalized* properties (what gets stored).
    """
    errors = _Errors()
    if charge_model == "standard":
        _validate_standard(properties, errors)
    elif charge_model == "graduated":
        _validate_ranges(properties, _GRADUATED, errors)
    elif charge_model == "volume":
        _validate_ranges(properties, _VOLUME, errors)
    elif charge_model == "graduated_percentage":
        _validate_not_latest(aggregation_type, errors)
        _validate_ranges(properties, _GRADUATED_PERCENTAGE, errors)
    elif charge_model == "package":
        _validate_package(properties, errors)
    elif charge_model == "percentage":
        _validate_percentage(properties, errors, aggregation_type, premium)
    _validate_pricing_group_keys(properties, errors)
    _validate_presentation_group_keys(properties, errors)
    return errors.by_field


@dataclass(frozen=True, slots=True)
class PreparedProperties:
    properties: dict[str, Any]
    errors: PropertyErrors

    @property
    def is_valid(self) -> bool:
        return not self.errors


def prepare_properties(
    charge_model: str,
    properties: Mapping[str, Any] | None,
    *,
    aggregation_type: str | None = None,
    premium: bool = True,
) -> PreparedProperties:
    """Normalize then validate, as a charge create/update does."""
    normalized = normalize_properties(charge_model, properties, custom_agg=aggregation_type == "custom_agg")
    errors = validate_properties(charge_model, normalized, aggregation_type=aggregation_type, premium=premium)
    return PreparedProperties(normalized, errors)


def properties_error_details(errors: Mapping[str, Sequence[str]]) -> PropertyErrors:
    """Lago's model-level form: every code under ``properties`` (``{}`` when none)."""
    codes: list[str] = []
    for field_codes in errors.values():
        codes.extend(code for code in field_codes if code not in codes)
    return {"properties": codes} if codes else {}


def validate_charge_rules(
    *,
    charge_model: str,
    aggregation_type: str,
    recurring: bool = False,
    pay_in_advance: bool = False,
    prorated: bool = False,
    invoiceable: bool = True,
    regroup_paid_fees: str | None = None,
    min_amount_cents: int = 0,
    premium: bool = True,
) -> PropertyErrors:
    """The charge-level compatibility rules of §3.1 (not the properties)."""
    errors = _Errors()
    if charge_model not in CHARGE_MODELS:
        errors.add("charge_model", "value_is_invalid")
    if pay_in_advance and (charge_model == "volume" or aggregation_type not in PAY_IN_ADVANCE_AGGREGATIONS):
        errors.add("pay_in_advance", "invalid_aggregation_type_or_charge_model")
    if prorated and not _prorated_allowed(charge_model, aggregation_type, recurring, pay_in_advance):
        errors.add("prorated", "invalid_billable_metric_or_charge_model")
    if (charge_model == "dynamic" and aggregation_type != "sum_agg") or (
        charge_model == "custom" and aggregation_type != "custom_agg"
    ):
        errors.add("charge_model", "invalid_aggregation_type_or_charge_model")
    if charge_model == "graduated_percentage" and not premium:
        errors.add("charge_model", "graduated_percentage_requires_premium_license")
    if not invoiceable and not pay_in_advance:
        errors.add("invoiceable", "must_be_true_unless_pay_in_advance")
    if regroup_paid_fees is not None and not (pay_in_advance and not invoiceable):
        errors.add("regroup_paid_fees", "only_compatible_with_pay_in_advance_and_non_invoiceable")
    if pay_in_advance and min_amount_cents > 0:
        errors.add("min_amount_cents", "not_compatible_with_pay_in_advance")
    return errors.by_field


def _prorated_allowed(
    charge_model: str, aggregation_type: str, recurring: bool, pay_in_advance: bool
) -> bool:
    if aggregation_type == "weighted_sum_agg" or not recurring:
        return False
    if pay_in_advance:
        return charge_model == "standard"
    return charge_model in ("standard", "volume", "graduated")
