"""The live-server helper: a real ``billow serve`` that starts healthy and is gone afterwards."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.support.live_server import live_server, server_env


def test_live_server_starts_bootstraps_and_stops(tmp_path: Path) -> None:
    with live_server(tmp_path, "selftest") as server:
        assert server.alive()
        assert httpx.get(server.base_url + "/health").status_code == 200
        org = httpx.get(server.api_v1 + "/organizations", headers=server.auth_headers)
        assert org.status_code == 200
        assert org.json()["organization"]["name"] == "Billow Compat"
        assert server.api_url == server.base_url + "/"
        assert server.issuer == server.base_url
        process = server.process
        database_url = server.database_url
    assert process.poll() is not None
    assert "Billow listening on " + server.base_url in server.logs()
    if database_url.startswith("postgresql"):
        url = make_url(database_url)
        admin = create_engine(url.set(database="postgres"))
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}
            ).first()
        admin.dispose()
        assert exists is None


def test_server_env_does_not_leak_the_callers_billow_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BILLOW_CLOCK", "manual")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///elsewhere.db")
    env = server_env(
        database_url="sqlite:///mine.db", port=1234, api_key="k", hmac_key="h", org_name="O", extra={}
    )
    assert "BILLOW_CLOCK" not in env
    assert env["DATABASE_URL"] == "sqlite:///mine.db"
    assert env["BILLOW_PORT"] == "1234"
    assert env["BILLOW_API_URL"] == "http://127.0.0.1:1234"
    assert env["BILLOW_ORG_API_KEY"] == "k"
    assert env["BILLOW_ORG_HMAC_KEY"] == "h"
    assert env["BILLOW_WORKER_POLL_SECONDS"] == "0.05"
