"""The pure rules: e-mail lists, normalization, early refusals, list-filter parsing."""

from __future__ import annotations

import pytest

from billow.core.errors import ValidationFailed
from billow.customers.queries import parse_filters
from billow.customers.schemas import CustomerInput
from billow.customers.validation import column_changes, is_lago_email_list, precheck, sanitize_email


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("a@b.co", True),
        ("first.last+tag@sub.example.com", True),
        ("a@b.co, c@d.io", True),
        ("jé@exemple.fr", True),
        ("a@b.co,", False),
        ("a@b.co,,c@d.io", False),
        ("a b@c.io", False),
        ("a@b", False),
        ("@b.co", False),
        ("a@-b.co", False),
    ],
)
def test_email_lists(value, ok):
    assert is_lago_email_list(value) is ok


def test_sanitize_email():
    assert sanitize_email("  a\u00a0@b\u2014c.io ") == "a@b-c.io"
    assert sanitize_email("   ") == "   "
    assert sanitize_email(None) is None


def test_column_changes_normalize_addresses_and_keep_absent_fields_out():
    data = CustomerInput.model_validate(
        {
            "external_id": "x",
            "country": "fr",
            "city": "  ",
            "zipcode": 75001,
            "name": "a\x00b",
            "customer_type": "",
            "shipping_address": {"country": "de", "state": ""},
        }
    )
    assert column_changes(data, is_new=True) == {
        "name": "ab",
        "city": None,
        "zipcode": "75001",
        "country": "FR",
        "customer_type": None,
        "shipping_state": None,
        "shipping_country": "DE",
    }


def test_payment_provider_is_only_set_on_update():
    data = CustomerInput.model_validate(
        {
            "external_id": "x",
            "billing_configuration": {"payment_provider": "adyen", "payment_provider_code": "a1"},
        }
    )
    assert column_changes(data, is_new=True) == {}
    assert column_changes(data, is_new=False) == {"payment_provider": "adyen", "payment_provider_code": "a1"}


def test_precheck_reports_one_refusal():
    data = CustomerInput.model_validate(
        {
            "external_id": "x",
            "metadata": [{"key": str(i), "value": "v"} for i in range(6)],
            "finalize_zero_amount_invoice": "bad",
        }
    )
    assert precheck(data).details == {"metadata": ["invalid_count"]}


def test_parse_filters_collects_arrays_and_metadata():
    filters = parse_filters(
        [
            ("countries[]", "FR"),
            ("countries[]", "US"),
            ("metadata[tier]", "gold"),
            ("metadata[x]", ""),
            ("page", "2"),
        ]
    )
    assert filters.arrays == {"countries": ["FR", "US"]}
    assert filters.metadata == {"tier": "gold", "x": ""}


def test_parse_filters_reports_every_bad_filter_at_once():
    with pytest.raises(ValidationFailed) as err:
        parse_filters([("account_type[]", "x"), ("has_customer_type", "1"), ("customer_type", "robot")])
    assert err.value.details == {
        "account_type": {"0": ["must be one of: customer, partner"]},
        "has_customer_type": ["must be one of: true, false"],
        "customer_type": ["must be one of: company, individual"],
    }
