"""The webhook receiver and the receiver-side signature checks."""

from __future__ import annotations

import threading

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.webhook_receiver import WebhookReceiver, hmac_signature, verify_hmac, verify_jwt

BODY = b'{"webhook_type":"customer.created","object_type":"customer","organization_id":"o","customer":{}}'


@pytest.fixture(scope="module")
def rsa_keys() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


def test_records_posts_and_waits_by_type() -> None:
    with WebhookReceiver() as receiver:

        def later() -> None:
            httpx.post(receiver.url("/a"), content=BODY, headers={"X-Lago-Unique-Key": "k1"})
            httpx.post(receiver.url("/b"), content=b'{"webhook_type":"customer.updated"}')

        thread = threading.Thread(target=later)
        thread.start()
        [hook] = receiver.wait_for("customer.created", 1, timeout=5)
        thread.join()
        assert hook.method == "POST"
        assert hook.path == "/a"
        assert hook.body == BODY
        assert hook.headers["x-lago-unique-key"] == "k1"
        assert hook.webhook_type == "customer.created"
        assert receiver.wait_exactly("customer.updated", 1, path="/b", timeout=5, settle=0.05)[0].path == "/b"
        assert receiver.received(path="/a", match=lambda h: h.headers.get("x-lago-unique-key") == "k1") == [
            hook
        ]
        assert len(receiver.received()) == 2


def test_wait_times_out_with_what_arrived() -> None:
    with WebhookReceiver() as receiver:
        httpx.post(receiver.url("/x"), content=BODY)
        with pytest.raises(AssertionError, match=r"timed out .* received: \[POST /x customer.created\]"):
            receiver.wait_for("invoice.created", 1, timeout=0.2)
        with pytest.raises(AssertionError, match="expected exactly 0"):
            receiver.wait_exactly("customer.created", 0, settle=0.01)


def test_respond_with_status() -> None:
    with WebhookReceiver() as receiver:
        receiver.respond_with("/fail", 500)
        assert httpx.post(receiver.url("/fail"), content=b"{}").status_code == 500
        assert httpx.post(receiver.url("/ok"), content=b"{}").status_code == 200


def test_verify_hmac() -> None:
    key = "b7d1f6c6-6f1e-4c36-9a0b-0b6c2f3f9a11"
    headers = {"X-Lago-Signature": hmac_signature(BODY, key), "X-Lago-Signature-Algorithm": "hmac"}
    verify_hmac(headers, BODY, key)
    verify_hmac({k.lower(): v for k, v in headers.items()}, BODY, key)
    with pytest.raises(AssertionError, match="does not match"):
        verify_hmac(headers, BODY + b" ", key)
    with pytest.raises(AssertionError, match="does not match"):
        verify_hmac(headers, BODY, "another-key")
    with pytest.raises(AssertionError, match="expected 'hmac'"):
        verify_hmac({**headers, "X-Lago-Signature-Algorithm": "jwt"}, BODY, key)


def test_verify_jwt(rsa_keys: tuple[bytes, bytes]) -> None:
    private, public = rsa_keys
    token = jwt.encode({"data": BODY.decode(), "iss": "http://billow.test"}, private, algorithm="RS256")
    headers = {"X-Lago-Signature": token, "X-Lago-Signature-Algorithm": "jwt"}
    assert verify_jwt(headers, BODY, public, "http://billow.test") == {
        "data": BODY.decode(),
        "iss": "http://billow.test",
    }
    with pytest.raises(AssertionError, match="data claim differs"):
        verify_jwt(headers, BODY.replace(b"customer", b"invoice"), public, "http://billow.test")
    with pytest.raises(AssertionError, match="InvalidIssuerError"):
        verify_jwt(headers, BODY, public, "http://other.test")

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_public = other.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(AssertionError, match="InvalidSignatureError"):
        verify_jwt(headers, BODY, other_public, "http://billow.test")

    no_iss = jwt.encode({"data": BODY.decode()}, private, algorithm="RS256")
    with pytest.raises(AssertionError, match="MissingRequiredClaimError"):
        verify_jwt({**headers, "X-Lago-Signature": no_iss}, BODY, public, "http://billow.test")
