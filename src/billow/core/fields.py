"""Annotated pydantic field types that fail with Lago's error codes."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StrictBool

from billow.core.validators import is_country, is_currency, is_email_list, is_timezone


def _lago(code: str) -> ValueError:
    return ValueError(code)


def _timezone(value: str) -> str:
    if not is_timezone(value):
        raise _lago("invalid_timezone")
    return value


def _currency(value: str) -> str:
    if not is_currency(value):
        raise _lago("value_is_invalid")
    return value


def _country(value: str) -> str:
    if not is_country(value):
        raise _lago("not_a_valid_country_code")
    return value.upper()


def _email(value: str) -> str:
    if value and not is_email_list(value):
        raise _lago("invalid_email_format")
    return value


Timezone = Annotated[str, AfterValidator(_timezone)]
Currency = Annotated[str, AfterValidator(_currency)]
Country = Annotated[str, AfterValidator(_country)]
Email = Annotated[str, AfterValidator(_email)]
Bool = StrictBool
