"""The delivery job: sign the stored body, POST it, record the attempt, retry with backoff."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select

from billow.db.context import Ctx
from billow.jobs.registry import Handler, JobKind, Reschedule
from billow.organizations.models import Organization
from billow.webhooks.emitter import DELIVER_JOB
from billow.webhooks.models import Webhook, WebhookAttempt, WebhookEndpoint
from billow.webhooks.signing import JwtSigner, hmac_signature

SUCCESS_CODES = frozenset({200, 201, 202, 204})
MAX_STORED_RESPONSE = 4000


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    http_status: int | None
    response: str | None
    error: str | None
    duration_ms: int


def post_webhook(client: httpx.Client, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    started = time.perf_counter()
    try:
        resp = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return Outcome(False, None, None, f"{type(exc).__name__}: {exc}"[:MAX_STORED_RESPONSE], _ms(started))
    return Outcome(
        resp.status_code in SUCCESS_CODES,
        resp.status_code,
        resp.text[:MAX_STORED_RESPONSE],
        None,
        _ms(started),
    )


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def retry_delay_seconds(failures: int, base: float, cap: float, rng: Callable[[], float]) -> float:
    """Exponential backoff: base × 2^(n−1), capped, plus up to 10 % jitter."""
    delay: float = min(cap, base * float(2 ** max(failures - 1, 0)))
    return delay + delay * 0.1 * rng()


def signed_headers(
    webhook: Webhook, endpoint: WebhookEndpoint, hmac_key: str, signer: JwtSigner
) -> dict[str, str]:
    body = webhook.payload.encode("utf-8")
    if endpoint.signature_algo == "hmac":
        signature = hmac_signature(hmac_key, body)
    else:
        signature = signer.sign(body)
    return {
        "Content-Type": "application/json",
        "User-Agent": "Billow",
        "X-Lago-Signature": signature,
        "X-Lago-Signature-Algorithm": endpoint.signature_algo,
        "X-Lago-Unique-Key": str(webhook.id),
    }


def make_delivery_handler(signer: JwtSigner, client_factory: Callable[[float], httpx.Client]) -> Handler:
    rng = random.random

    def deliver(ctx: Ctx, payload: dict[str, Any]) -> Reschedule | None:
        webhook_id = uuid.UUID(str(payload["webhook_id"]))
        manual = bool(payload.get("manual"))
        row = ctx.session.execute(
            select(Webhook, WebhookEndpoint, Organization.hmac_key)
            .join(WebhookEndpoint, WebhookEndpoint.id == Webhook.webhook_endpoint_id)
            .join(Organization, Organization.id == Webhook.organization_id)
            .where(Webhook.id == webhook_id)
        ).first()
        if row is None:
            return None  # endpoint deleted with its history
        webhook, endpoint, hmac_key = row
        if webhook.status == "succeeded":
            return None
        headers = signed_headers(webhook, endpoint, hmac_key, signer)
        body = webhook.payload.encode("utf-8")
        url = endpoint.webhook_url
        # Never hold a database transaction (or SQLite's write lock) across the HTTP call.
        ctx.session.commit()
        with client_factory(ctx.settings.webhook_timeout_seconds) as client:
            outcome = post_webhook(client, url, body, headers)
        now = ctx.now()
        reloaded = ctx.session.get(Webhook, webhook_id)
        if reloaded is None:
            return None
        webhook = reloaded
        ctx.session.add(
            WebhookAttempt(
                webhook_id=webhook.id,
                attempted_at=now,
                succeeded=outcome.succeeded,
                http_status=outcome.http_status,
                response=outcome.response,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
                manual=manual,
            )
        )
        webhook.http_status = outcome.http_status
        webhook.response = outcome.response if outcome.error is None else outcome.error
        webhook.updated_at = now
        if outcome.succeeded:
            webhook.status = "succeeded"
            return None
        webhook.retries += 1
        webhook.last_retried_at = now
        if manual:
            webhook.status = "failed"
            return None
        attempts_so_far = webhook.retries
        if attempts_so_far >= ctx.settings.webhook_max_attempts:
            webhook.status = "failed"
            return None
        webhook.status = "retrying"
        delay = retry_delay_seconds(
            attempts_so_far,
            ctx.settings.webhook_backoff_base_seconds,
            ctx.settings.webhook_backoff_max_seconds,
            rng,
        )
        return Reschedule(delay, reason=f"attempt {attempts_so_far} failed")

    return deliver


def default_client_factory(timeout: float) -> httpx.Client:
    return httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False)


def delivery_job_kinds(signer: JwtSigner, client_factory: Callable[[float], httpx.Client]) -> list[JobKind]:
    return [JobKind(DELIVER_JOB, make_delivery_handler(signer, client_factory))]
