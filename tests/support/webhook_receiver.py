"""A tiny threaded HTTP server that records webhooks, and the receiver-side signature checks.

with WebhookReceiver() as receiver:
    url = receiver.url("/jwt")                       # give this to a webhook endpoint
    hooks = receiver.wait_for("customer.created", 1, path="/jwt")
    claims = verify_jwt(hooks[0].headers, hooks[0].body, public_key_pem, issuer)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt


@dataclass(frozen=True)
class ReceivedWebhook:
    method: str
    path: str
    headers: httpx.Headers  # case-insensitive
    body: bytes  # the exact bytes received
    received_at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def webhook_type(self) -> str | None:
        try:
            data = self.json()
        except ValueError:
            return None
        value = data.get("webhook_type") if isinstance(data, dict) else None
        return value if isinstance(value, str) else None


Match = Callable[[ReceivedWebhook], bool]


class WebhookReceiver:
    """Records every request (headers + raw body) on 127.0.0.1 and answers 200 unless told otherwise."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._lock = threading.Condition()
        self._received: list[ReceivedWebhook] = []
        self._statuses: dict[str, int] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                hook = ReceivedWebhook(self.command, path, httpx.Headers(list(self.headers.items())), body)
                status = receiver._store(hook)
                payload = b"ok"
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = _record
            do_PUT = _record
            do_GET = _record

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="webhook-receiver", daemon=True
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    # -- behaviour ---------------------------------------------------------------------------

    def respond_with(self, path: str, status: int) -> None:
        """Answer ``status`` to requests on ``path`` from now on (200 by default)."""
        with self._lock:
            self._statuses[path] = status

    def _store(self, hook: ReceivedWebhook) -> int:
        with self._lock:
            self._received.append(hook)
            self._lock.notify_all()
            return self._statuses.get(hook.path, 200)

    def clear(self) -> None:
        with self._lock:
            self._received.clear()

    # -- reading -----------------------------------------------------------------------------

    def received(
        self, webhook_type: str | None = None, *, path: str | None = None, match: Match | None = None
    ) -> list[ReceivedWebhook]:
        """What arrived so far, in order, optionally only one type / one path / what ``match`` accepts."""
        with self._lock:
            return [h for h in self._received if _matches(h, webhook_type, path, match)]

    def wait_for(
        self,
        webhook_type: str | None,
        count: int = 1,
        *,
        path: str | None = None,
        match: Match | None = None,
        timeout: float = 10.0,
    ) -> list[ReceivedWebhook]:
        """Block until at least ``count`` matching webhooks arrived; fail with what did arrive."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                found = [h for h in self._received if _matches(h, webhook_type, path, match)]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"timed out after {timeout}s waiting for {count} {webhook_type or 'request'}(s) "
                        f"on {path or 'any path'}; received: {self._summary()}"
                    )
                self._lock.wait(remaining)

    def wait_exactly(
        self,
        webhook_type: str | None,
        count: int,
        *,
        path: str | None = None,
        match: Match | None = None,
        timeout: float = 10.0,
        settle: float = 0.3,
    ) -> list[ReceivedWebhook]:
        """Like ``wait_for``, then wait ``settle`` seconds more and require no extra one."""
        self.wait_for(webhook_type, count, path=path, match=match, timeout=timeout)
        time.sleep(settle)
        found = self.received(webhook_type, path=path, match=match)
        assert len(found) == count, (
            f"expected exactly {count} {webhook_type or 'request'}(s) on {path or 'any path'}, "
            f"got {len(found)}: {self._summary()}"
        )
        return found

    def _summary(self) -> str:
        with self._lock:
            items = [f"{h.method} {h.path} {h.webhook_type}" for h in self._received]
        return "[" + ", ".join(items) + "]" if items else "nothing"


def _matches(hook: ReceivedWebhook, webhook_type: str | None, path: str | None, match: Match | None) -> bool:
    if path is not None and hook.path != path:
        return False
    if webhook_type is not None and hook.webhook_type != webhook_type:
        return False
    return match is None or match(hook)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    if isinstance(headers, httpx.Headers):
        found: str | None = headers.get(name)
        return found
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return None


def verify_jwt(
    headers: Mapping[str, str], body: bytes, public_key_pem: bytes | str, issuer: str
) -> dict[str, Any]:
    """Check a Lago JWT signature (RS256) the way a receiver does; return the claims.

    The ``X-Lago-Signature-Algorithm`` header must say ``jwt``, the token must verify with the
    public key, its ``iss`` must be ``issuer``, and its ``data`` claim must equal the raw body.
    """
    algorithm = _header(headers, "X-Lago-Signature-Algorithm")
    assert algorithm == "jwt", f"X-Lago-Signature-Algorithm is {algorithm!r}, expected 'jwt'"
    token = _header(headers, "X-Lago-Signature")
    assert token, "X-Lago-Signature header is missing"
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            public_key_pem,
            algorithms=["RS256"],
            issuer=issuer,
            options={"require": ["iss", "data"], "verify_aud": False},
        )
    except jwt.PyJWTError as exc:
        raise AssertionError(f"JWT signature rejected: {type(exc).__name__}: {exc}") from exc
    assert claims["data"] == body.decode("utf-8"), "JWT data claim differs from the raw body"
    return claims


def hmac_signature(body: bytes, hmac_key: str) -> str:
    return base64.b64encode(hmac.new(hmac_key.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def verify_hmac(headers: Mapping[str, str], body: bytes, hmac_key: str) -> None:
    """Check a Lago HMAC signature: base64(HMAC-SHA256(key, exact raw body))."""
    algorithm = _header(headers, "X-Lago-Signature-Algorithm")
    assert algorithm == "hmac", f"X-Lago-Signature-Algorithm is {algorithm!r}, expected 'hmac'"
    signature = _header(headers, "X-Lago-Signature")
    assert signature, "X-Lago-Signature header is missing"
    expected = hmac_signature(body, hmac_key)
    assert hmac.compare_digest(signature, expected), "HMAC signature does not match the raw body"
