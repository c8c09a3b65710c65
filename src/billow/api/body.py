"""Request bodies in Lago's form: JSON, a root key, and pydantic errors as Lago's 422."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import orjson
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from billow.core.errors import BadRequest, ValidationFailed

M = TypeVar("M", bound=BaseModel)

# pydantic error type -> Lago error code
_CODE_BY_TYPE: Mapping[str, str] = {
    "missing": "value_is_mandatory",
    "string_too_short": "value_is_mandatory",
    "literal_error": "value_is_invalid",
    "enum": "value_is_invalid",
    "value_error": "value_is_invalid",
    "assertion_error": "value_is_invalid",
    "greater_than": "value_is_out_of_range",
    "greater_than_equal": "value_is_out_of_range",
    "less_than": "value_is_out_of_range",
    "less_than_equal": "value_is_out_of_range",
    "string_too_long": "value_is_too_long",
    "too_long": "too_long",
    "url_parsing": "url_is_invalid",
    "url_scheme": "url_is_invalid",
    "datetime_parsing": "invalid_format",
    "datetime_from_date_parsing": "invalid_format",
    "date_parsing": "invalid_format",
    "date_from_datetime_parsing": "invalid_format",
    "decimal_parsing": "invalid_format",
}


def lago_code(error: ErrorDetails) -> str:
    ctx = error.get("ctx") or {}
    custom = ctx.get("lago_code") if isinstance(ctx, dict) else None
    if isinstance(custom, str):
        return custom
    if error["type"] == "value_error":
        # Validators raise ValueError("<lago_code>") to choose the code.
        message = str(error.get("msg", ""))
        code = message.removeprefix("Value error, ").strip()
        if code and " " not in code:
            return code
    return _CODE_BY_TYPE.get(
        error["type"], "invalid_type" if error["type"].endswith("_type") else "value_is_invalid"
    )


def _field_key(loc: Sequence[int | str]) -> str:
    parts = [str(p) for p in loc if not isinstance(p, int)]
    return ":".join(parts) if parts else "base"


def errors_to_details(exc: ValidationError) -> dict[str, list[str]]:
    details: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        key = _field_key(error["loc"])
        codes = details.setdefault(key, [])
        code = lago_code(error)
        if code not in codes:
            codes.append(code)
    return details


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"Error occurred while parsing request parameters: {exc}") from exc


def require_root(data: Any, root: str) -> Any:
    """Rails' ``params.require(root)``: missing, null, empty object/array/string → 400."""
    if not isinstance(data, dict):
        raise BadRequest.missing_param(root)
    value = data.get(root)
    if value is None or value == {} or value == [] or value == "":
        raise BadRequest.missing_param(root)
    return value


def validate(model: type[M], data: Any) -> M:
    """Validate ``data`` against ``model``; errors become Lago's 422 ``validation_errors``."""
    if not isinstance(data, dict):
        raise ValidationFailed({"base": ["invalid_type"]})
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(errors_to_details(exc)) from exc


def root_model(raw: bytes, root: str, model: type[M]) -> M:
    return validate(model, require_root(parse_json(raw), root))
