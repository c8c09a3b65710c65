"""Domain errors carrying Lago's HTTP status and error code.

Services raise these; the API layer turns them into Lago's exact error bodies.
"""

from __future__ import annotations

from typing import Any

ErrorDetails = dict[str, Any]


class BillowError(Exception):
    status: int = 500
    error: str = "Internal Server Error"

    def body(self) -> dict[str, Any]:
        return {"status": self.status, "error": self.error}


class BadRequest(BillowError):
    """400: unparseable JSON, or a missing root key."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"status": 400, "error": f"BadRequest: {self.message}"}

    @classmethod
    def missing_param(cls, name: str) -> BadRequest:
        return cls(f"param is missing or the value is empty or invalid: {name}")


class Unauthorized(BillowError):
    status = 401
    error = "Unauthorized"


class Forbidden(BillowError):
    status = 403
    error = "Forbidden"

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code

    def body(self) -> dict[str, Any]:
        return {"status": 403, "error": "Forbidden", "code": self.code}


class NotFound(BillowError):
    """404 ``<resource>_not_found``."""

    status = 404
    error = "Not Found"

    def __init__(self, resource: str) -> None:
        super().__init__(f"{resource}_not_found")
        self.code = f"{resource}_not_found"

    def body(self) -> dict[str, Any]:
        return {"status": 404, "error": "Not Found", "code": self.code}


class MethodNotAllowed(BillowError):
    """405: a business rule refuses the operation (Lago's usage, not a wrong verb)."""

    status = 405
    error = "Method Not Allowed"

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code

    def body(self) -> dict[str, Any]:
        return {"status": 405, "error": "Method Not Allowed", "code": self.code}


class PayloadTooLarge(BillowError):
    status = 413
    error = "Payload Too Large"

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit

    def body(self) -> dict[str, Any]:
        return {"status": 413, "error": "Payload Too Large", "code": "payload_too_large"}


class ValidationFailed(BillowError):
    """422 ``validation_errors`` with ``error_details: {field: [codes]}``."""

    status = 422
    error = "Unprocessable Entity"

    def __init__(self, details: ErrorDetails) -> None:
        super().__init__(details)
        self.details = details

    def body(self) -> dict[str, Any]:
        return {
            "status": 422,
            "error": "Unprocessable Entity",
            "code": "validation_errors",
            "error_details": self.details,
        }

    @classmethod
    def field(cls, name: str, *codes: str) -> ValidationFailed:
        return cls({name: list(codes)})


class ErrorCollector:
    """Accumulates ``field -> [codes]`` and raises one ValidationFailed at the end."""

    def __init__(self) -> None:
        self.details: ErrorDetails = {}

    def add(self, name: str, code: str) -> None:
        codes = self.details.setdefault(name, [])
        if code not in codes:
            codes.append(code)

    def __bool__(self) -> bool:
        return bool(self.details)

    def raise_if_any(self) -> None:
        if self.details:
            raise ValidationFailed(self.details)
