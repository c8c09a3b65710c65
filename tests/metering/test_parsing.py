"""The hand-written event field readers (pure)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billow.metering.events.parsing import (
    InvalidTimestamp,
    numeric_value,
    parse_amount,
    parse_timestamp,
    property_text,
    ruby_to_i,
)

NOW = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1780586634.1", datetime(2026, 6, 4, 15, 23, 54, 100000, tzinfo=UTC)),
        (1780586634, datetime(2026, 6, 4, 15, 23, 54, tzinfo=UTC)),
        (1780586634.25, datetime(2026, 6, 4, 15, 23, 54, 250000, tzinfo=UTC)),
        ("1780586634.1234569", datetime(2026, 6, 4, 15, 23, 54, 123456, tzinfo=UTC)),
        (" 12 ", datetime(1970, 1, 1, 0, 0, 12, tzinfo=UTC)),
        ("1e3", datetime(1970, 1, 1, 0, 16, 40, tzinfo=UTC)),
        ("-1.5", datetime(1969, 12, 31, 23, 59, 58, 500000, tzinfo=UTC)),
        (Decimal("2.000001"), datetime(1970, 1, 1, 0, 0, 2, 1, tzinfo=UTC)),
        (None, NOW),
        (False, NOW),
    ],
)
def test_parse_timestamp(raw, expected):
    assert parse_timestamp(raw, NOW) == expected


@pytest.mark.parametrize(
    "raw", ["", "abc", "2024-01-01T00:00:00Z", "NaN", "inf", True, [], {}, 10**20, "1e30"]
)
def test_parse_timestamp_invalid(raw):
    with pytest.raises(InvalidTimestamp):
        parse_timestamp(raw, NOW)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", Decimal(12)),
        ("-0.50", Decimal("-0.50")),
        ("+1", None),
        ("1.", None),
        (".5", None),
        ("1e3", None),
        (" 1", None),
        ("", None),
        (None, None),
    ],
)
def test_numeric_value(text, expected):
    assert numeric_value(text) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a", "a"),
        (3, "3"),
        (2.5, "2.5"),
        (1e-7, "1e-7"),  # the JSON token (what SQLite's ``->`` returns), not repr's 1e-07
        (1e20, "1e+20"),
        (True, "true"),
        (False, "false"),
        (None, None),
        ({"a": 1}, '{"a":1}'),
        ([1, "x"], '[1,"x"]'),
    ],
)
def test_property_text(raw, expected):
    assert property_text(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1234.56", Decimal("1234.56")),
        (5, Decimal(5)),
        (0.1, Decimal("0.1")),
        ("abc", Decimal(0)),
        ("  7.5kg", Decimal("7.5")),
        ("1.0000000000000004", Decimal("1.000000000000000")),
        (None, None),
        ("", None),
        ({"a": 1}, Decimal(0)),
    ],
)
def test_parse_amount(raw, expected):
    result = parse_amount(raw)
    assert result == expected
    if expected is not None:
        assert str(result) == str(expected)


@pytest.mark.parametrize(
    ("raw", "expected"), [("12abc", 12), ("abc", 0), (3.9, 3), (-3.9, -3), (7, 7), (None, None), (True, 0)]
)
def test_ruby_to_i(raw, expected):
    assert ruby_to_i(raw) == expected
