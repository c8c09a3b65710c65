"""Webhook signatures: JWT RS256 (one deployment key pair) or base64 HMAC-SHA256 (per organization)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select
from sqlalchemy.orm import Session

from billow.db.upsert import insert_ignore
from billow.webhooks.models import DeploymentSecret

RSA_KEY_NAME = "webhook_rsa_private_key"


def hmac_signature(key: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode("utf-8"), body, hashlib.sha256).digest()).decode("ascii")


def mime_base64(data: bytes) -> str:
    """Base64 wrapped at 60 characters per line with a trailing newline (Ruby's Base64.encode64)."""
    encoded = base64.b64encode(data).decode("ascii")
    return "".join(encoded[i : i + 60] + "\n" for i in range(0, len(encoded), 60))


@dataclass(frozen=True)
class JwtSigner:
    private_key_pem: bytes
    issuer: str

    @property
    def public_key_pem(self) -> bytes:
        key = serialization.load_pem_private_key(self.private_key_pem, password=None)
        return key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def public_key_b64(self) -> str:
        return mime_base64(self.public_key_pem)

    def sign(self, body: bytes) -> str:
        return jwt.encode(
            {"data": body.decode("utf-8"), "iss": self.issuer}, self.private_key_pem, algorithm="RS256"
        )


def _decode_configured_key(value: str) -> bytes:
    text = value.strip()
    if text.startswith("-----BEGIN"):
        return text.encode("ascii")
    try:
        decoded = base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("BILLOW_RSA_PRIVATE_KEY is neither a PEM nor base64 of a PEM") from exc
    if not decoded.startswith(b"-----BEGIN"):
        raise ValueError("BILLOW_RSA_PRIVATE_KEY is neither a PEM nor base64 of a PEM")
    return decoded


def generate_private_key_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_or_create_private_key(session: Session, configured: str | None, now: datetime) -> bytes:
    """The configured key if any; else the one stored in the database, created on first start."""
    if configured:
        pem = _decode_configured_key(configured)
        serialization.load_pem_private_key(pem, password=None)  # fail fast on a bad key
        return pem
    stored = session.scalar(select(DeploymentSecret.value).where(DeploymentSecret.name == RSA_KEY_NAME))
    if stored is None:
        pem = generate_private_key_pem()
        insert_ignore(
            session,
            DeploymentSecret,
            [{"name": RSA_KEY_NAME, "value": pem.decode("ascii"), "created_at": now, "meta": {}}],
            ["name"],
        )
        stored = session.scalar(select(DeploymentSecret.value).where(DeploymentSecret.name == RSA_KEY_NAME))
    assert stored is not None
    return stored.encode("ascii")
