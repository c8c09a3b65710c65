"""Validate bodies against Lago's OpenAPI document (``../shared/reference/lago-openapi.yaml``).

The document is read in place, never copied into this repository. When it is absent,
``load_spec()`` returns ``SPEC_MISSING`` and every ``assert_*`` helper becomes a no-op, so a
caller skips only the schema check, never its own test.

OpenAPI 3.1 schemas are JSON Schema 2020-12: ``$ref`` is resolved into the whole document,
``type: [string, 'null']`` works as is, ``format`` is an annotation (no format checker), and the
OpenAPI 3.0 leftover ``nullable: true`` (a few schemas still carry it) is read as "or null".
Three documented deviations from the letter of the document, all where it contradicts Lago's own
behaviour: ``NULL_IN_LAGO`` properties also accept null, ``STRING_IN_LAGO`` numbers also accept a
decimal string, and a ``oneOf`` of bare primitive types
(``[string, integer, number]``, where an integer matches two branches) is read as ``anyOf``.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_ENV = "LAGO_OPENAPI_PATH"

# Where the document disagrees with what Lago's own code sends, we follow the code (as the digest
# in ../shared/reference/platform.md does). Each entry is a property that Lago's serializers emit as
# ``null`` although the document types it non-null. Keep this list short and justified.
NULL_IN_LAGO = (
    # V1::BillableMetricSerializer sends ``expression: model.expression`` (nil unless set).
    ("BillableMetricObject", "expression"),
    # V1::CustomerSerializer's billing_configuration sends the customer's nullable columns as is.
    ("CustomerBillingConfiguration", "invoice_grace_period"),
    ("CustomerBillingConfiguration", "payment_provider"),
    ("CustomerBillingConfiguration", "payment_provider_code"),
    ("CustomerBillingConfiguration", "provider_customer_id"),
    ("CustomerBillingConfiguration", "document_locale"),
    # V1::InvoiceSerializer sends ``payment_dispute_lost_at`` and ``file_url`` (no PDF yet) as nil.
    ("InvoiceBaseObject", "payment_dispute_lost_at"),
    ("InvoiceBaseObject", "file_url"),
    # V1::FeeSerializer sends ``pricing_unit_details`` nil unless the charge prices in a unit.
    ("FeeObject", "pricing_unit_details"),
    # V1::SubscriptionSerializer (nested in invoices) sends these columns as is: nil for an
    # arrears plan's credit-note option, an uncanceled subscription, the default payment method.
    ("SubscriptionObject", "on_termination_credit_note"),
    ("SubscriptionObject", "cancellation_reason"),
    ("PaymentMethodReference", "payment_method_id"),
)
# Properties the document types as numbers that Lago renders as decimal strings (a BigDecimal
# column through Rails' JSON: ``"3.0"``). lago-python-client declares them ``float`` and coerces.
STRING_IN_LAGO = (
    # V1::FixedChargeSerializer sends ``units`` from a decimal(30, 10) column.
    ("FixedChargeObject", "units"),
)
DEFAULT_SPEC_PATH = Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "lago-openapi.yaml"
SPEC_URI = "urn:lago-openapi"
MAX_REPORTED_ERRORS = 15


class SpecMissing:
    """The marker ``load_spec`` returns when the OpenAPI document is not on disk."""

    def __repr__(self) -> str:
        return "SPEC_MISSING"


SPEC_MISSING = SpecMissing()


@dataclass(frozen=True)
class OpenApiSpec:
    path: Path
    document: dict[str, Any]
    registry: Registry

    # -- lookups ---------------------------------------------------------------------------

    def operation(self, method: str, path_template: str) -> dict[str, Any]:
        paths = self.document.get("paths", {})
        if path_template not in paths:
            raise AssertionError(f"{path_template!r} is not a path of the OpenAPI document")
        item = paths[path_template]
        op = item.get(method.lower())
        if op is None:
            raise AssertionError(
                f"{method.upper()} {path_template} is not an operation of the OpenAPI document"
            )
        return dict(op)

    def response_schema(
        self, method: str, path_template: str, status: int, content_type: str | None = None
    ) -> dict[str, Any] | None:
        """The schema of that response body, or None when the document gives the status no content."""
        responses = self.operation(method, path_template).get("responses", {})
        response = None
        for key in (str(status), f"{status // 100}XX", "default"):
            if key in responses:
                response = responses[key]
                break
        if response is None:
            documented = ", ".join(sorted(responses))
            raise AssertionError(
                f"status {status} is not documented for {method.upper()} {path_template} "
                f"(documented: {documented})"
            )
        response = self._deref(response)
        content = response.get("content")
        if not content:
            return None
        if content_type is None:
            content_type = "application/json" if "application/json" in content else next(iter(content))
        if content_type not in content:
            raise AssertionError(
                f"{method.upper()} {path_template} {status} has no {content_type} content "
                f"(has {sorted(content)})"
            )
        schema = content[content_type].get("schema")
        return dict(schema) if schema is not None else None

    def component_schema(self, name: str) -> dict[str, Any]:
        if name not in self.document.get("components", {}).get("schemas", {}):
            raise AssertionError(f"components/schemas/{name} is not in the OpenAPI document")
        return {"$ref": f"{SPEC_URI}#/components/schemas/{name}"}

    def webhook_schema(self, webhook_type: str) -> dict[str, Any]:
        """The request body schema of a webhook (``webhooks:`` keys use ``_`` or ``.``)."""
        hooks = self.document.get("webhooks", {})
        for key in (webhook_type, webhook_type.replace(".", "_")):
            if key in hooks:
                return dict(hooks[key]["post"]["requestBody"]["content"]["application/json"]["schema"])
        raise AssertionError(f"webhook {webhook_type!r} is not in the OpenAPI document")

    def _deref(self, node: dict[str, Any]) -> dict[str, Any]:
        while isinstance(node.get("$ref"), str):
            resolved = self.registry.resolver().lookup(node["$ref"]).contents
            node = dict(resolved)
        return node

    # -- validation ------------------------------------------------------------------------

    def errors(self, schema: dict[str, Any], instance: Any) -> list[ValidationError]:
        validator = Draft202012Validator(schema, registry=self.registry)
        return sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))

    def check(self, schema: dict[str, Any], instance: Any, what: str) -> None:
        errors = self.errors(schema, instance)
        if errors:
            raise AssertionError(_report(what, errors, instance))


def _report(what: str, errors: list[ValidationError], instance: Any) -> str:
    lines = [f"{what}: {len(errors)} schema violation(s)"]
    best = best_match(errors)
    lines.append(f"  best match: {_where(best)}: {best.message}")
    for error in errors[:MAX_REPORTED_ERRORS]:
        lines.append(f"  - {_where(error)}: {error.message[:300]}")
    if len(errors) > MAX_REPORTED_ERRORS:
        lines.append(f"  ... and {len(errors) - MAX_REPORTED_ERRORS} more")
    body = json.dumps(instance, default=str)
    lines.append(f"  body: {body[:2000]}")
    return "\n".join(lines)


def _where(error: ValidationError) -> str:
    return "/" + "/".join(str(p) for p in error.absolute_path) if error.absolute_path else "<root>"


def _openapi_to_json_schema(node: Any) -> Any:
    """Point every local ``$ref`` at the registered document; turn ``nullable: true`` into ``or null``."""
    if isinstance(node, list):
        return [_openapi_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _openapi_to_json_schema(value) for key, value in node.items()}
    if "oneOf" in out and all(_is_bare_type(branch) for branch in out["oneOf"]):
        # ``oneOf: [integer, number]`` rejects every integer (it matches both): the authors meant anyOf.
        out["anyOf"] = out.pop("oneOf")
    ref = out.get("$ref")
    if isinstance(ref, str) and ref.startswith("#"):
        out["$ref"] = SPEC_URI + ref
    if out.get("nullable") is True:
        del out["nullable"]
        return {"anyOf": [out, {"type": "null"}]}
    return out


def _is_bare_type(branch: Any) -> bool:
    return isinstance(branch, dict) and set(branch) <= {"type", "description", "example"} and "type" in branch


def _allow_null_where_lago_sends_it(document: dict[str, Any]) -> None:
    schemas = document.get("components", {}).get("schemas", {})
    for schema_name, prop in NULL_IN_LAGO:
        properties = schemas.get(schema_name, {}).get("properties", {})
        if prop in properties:
            properties[prop] = {"anyOf": [properties[prop], {"type": "null"}]}
    for schema_name, prop in STRING_IN_LAGO:
        properties = schemas.get(schema_name, {}).get("properties", {})
        if prop in properties:
            properties[prop] = {"anyOf": [properties[prop], {"type": "string", "pattern": r"^-?\d+\.\d+$"}]}


def spec_path() -> Path:
    override = os.environ.get(SPEC_ENV)
    return Path(override) if override else DEFAULT_SPEC_PATH


@functools.cache
def _load(path: Path) -> OpenApiSpec | SpecMissing:
    if not path.is_file():
        return SPEC_MISSING
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open("rb") as fh:
        raw = yaml.load(fh, Loader=loader)
    document = _openapi_to_json_schema(raw)
    _allow_null_where_lago_sends_it(document)
    resource: Resource[Any] = DRAFT202012.create_resource(document)
    registry: Registry = Registry().with_resource(SPEC_URI, resource)
    return OpenApiSpec(path=path, document=document, registry=registry)


def load_spec(path: Path | str | None = None) -> OpenApiSpec | SpecMissing:
    """The parsed document (cached per path), or ``SPEC_MISSING`` when the file is absent."""
    return _load(Path(path) if path is not None else spec_path())


def spec_available() -> bool:
    return isinstance(load_spec(), OpenApiSpec)


Spec = OpenApiSpec | SpecMissing | None


def _resolve(spec: Spec) -> OpenApiSpec | None:
    found = load_spec() if spec is None else spec
    return found if isinstance(found, OpenApiSpec) else None


def assert_matches_openapi(
    method: str,
    path_template: str,
    status: int,
    body: Any,
    *,
    content_type: str | None = None,
    spec: Spec = None,
) -> None:
    """``body`` (parsed JSON, or text for a text/plain response) matches the documented response.

    ``path_template`` is the document's key, e.g. ``/customers/{external_customer_id}``.
    An undocumented status fails; a missing document makes this a no-op.
    """
    loaded = _resolve(spec)
    if loaded is None:
        return
    schema = loaded.response_schema(method, path_template, status, content_type)
    if schema is None:
        return
    loaded.check(schema, body, f"{method.upper()} {path_template} → {status}")


def assert_response_matches_openapi(response: Any, path_template: str, *, spec: Spec = None) -> None:
    """Same, from an ``httpx.Response`` (method, status and body taken from it)."""
    content_type = response.headers.get("content-type", "").split(";")[0].strip() or None
    body: Any = response.json() if content_type == "application/json" else response.text
    assert_matches_openapi(
        response.request.method,
        path_template,
        response.status_code,
        body,
        content_type=content_type,
        spec=spec,
    )


def assert_matches_schema(schema_name: str, obj: Any, *, spec: Spec = None) -> None:
    """``obj`` matches ``components/schemas/<schema_name>`` (e.g. a webhook's ``customer`` object)."""
    loaded = _resolve(spec)
    if loaded is None:
        return
    loaded.check(loaded.component_schema(schema_name), obj, f"components/schemas/{schema_name}")


def assert_matches_webhook(webhook_type: str, envelope: Any, *, spec: Spec = None) -> None:
    """A whole webhook body matches the document's ``webhooks:`` entry for that type."""
    loaded = _resolve(spec)
    if loaded is None:
        return
    loaded.check(loaded.webhook_schema(webhook_type), envelope, f"webhook {webhook_type}")
