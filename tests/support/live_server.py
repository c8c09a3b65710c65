"""Run the real ``billow serve`` as a subprocess on a free port, over its own fresh test database.

    with live_server(tmp_path, "customers") as server:
        client = Client(api_key=server.api_key, api_url=server.api_url)

The database is a new SQLite file, or a new PostgreSQL database when
``BILLOW_TEST_DATABASE_URL`` is set (``tests/support/db.py``), dropped at the end. Names carry the
pytest-xdist worker id, so parallel workers never share a server or a database.
"""

from __future__ import annotations

import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from tests.support.db import create_test_database, drop_test_database

STARTUP_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 10.0
PORT_ATTEMPTS = 3


@dataclass(frozen=True)
class OrgCredentials:
    """An organization of the live server and what a client needs to act as it."""

    id: str
    name: str
    api_key: str
    hmac_key: str
    billing_entity_code: str


@dataclass
class LiveServer:
    base_url: str  # http://127.0.0.1:<port>, no trailing slash; also the JWT issuer
    api_key: str
    hmac_key: str
    org_name: str
    database_url: str
    log_path: Path
    process: subprocess.Popen[bytes]

    @property
    def api_url(self) -> str:
        """What ``lago_python_client.Client(api_url=...)`` wants (it appends ``api/v1/``)."""
        return self.base_url + "/"

    @property
    def api_v1(self) -> str:
        return self.base_url + "/api/v1"

    @property
    def issuer(self) -> str:
        return self.base_url

    @property
    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    def logs(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        stop_process(self.process)

    def bootstrap_org(self) -> OrgCredentials:
        """The organization ``billow serve`` made from BILLOW_ORG_API_KEY / BILLOW_ORG_HMAC_KEY."""
        from billow.db.engine import Database
        from billow.organizations import service

        db = Database(self.database_url, pool_size=1)
        try:
            with db.session() as session:
                org_id = service.organization_id_for_key(session, self.api_key)
                assert org_id is not None, "the bootstrap organization is missing"
                org = service.get_organization(session, org_id)
                entity = service.default_billing_entity(session, org_id)
                assert org.hmac_key == self.hmac_key
                return OrgCredentials(str(org.id), org.name, self.api_key, org.hmac_key, entity.code)
        finally:
            db.dispose()

    def create_org(self, name: str) -> OrgCredentials:
        """A new organization in the server's database (so a test module gets its own tenant)."""
        from billow.db.engine import Database
        from billow.organizations import service

        db = Database(self.database_url, pool_size=1)
        try:
            with db.session() as session:
                created = service.create_organization(session, name=name, now=datetime.now(UTC))
                return OrgCredentials(
                    str(created.organization.id),
                    name,
                    created.api_key,
                    created.organization.hmac_key,
                    created.billing_entity.code,
                )
        finally:
            db.dispose()


def worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def billow_command() -> list[str]:
    """The venv's ``billow`` console script (beside ``sys.executable``), else the same via ``-c``."""
    script = Path(sys.executable).parent / "billow"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    found = shutil.which("billow", path=str(Path(sys.executable).parent))
    if found:
        return [found]
    return [sys.executable, "-c", "from billow.cli import main; main()"]


def server_env(
    *, database_url: str, port: int, api_key: str, hmac_key: str, org_name: str, extra: Mapping[str, str]
) -> dict[str, str]:
    # Start from a clean slate: no BILLOW_* or DATABASE_URL of the developer's shell leaks in.
    env = {k: v for k, v in os.environ.items() if not k.startswith("BILLOW_") and k != "DATABASE_URL"}
    base_url = f"http://127.0.0.1:{port}"
    env.update(
        {
            "DATABASE_URL": database_url,
            "BILLOW_HOST": "127.0.0.1",
            "BILLOW_PORT": str(port),
            "BILLOW_API_URL": base_url,
            "BILLOW_ORG_API_KEY": api_key,
            "BILLOW_ORG_HMAC_KEY": hmac_key,
            "BILLOW_ORG_NAME": org_name,
            "BILLOW_WORKER_POLL_SECONDS": "0.05",
            "BILLOW_WEBHOOK_TIMEOUT_SECONDS": "5",
            "BILLOW_LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM if the test process dies without tearing down (e.g. kill -9)."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate, then kill if it does not stop in time."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_TIMEOUT_SECONDS)


def _wait_healthy(process: subprocess.Popen[bytes], base_url: str, log_path: Path, timeout: float) -> bool:
    """True once ``/health`` answers 200; False if the process died (e.g. the port was taken)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            try:
                if client.get(base_url + "/health").status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    stop_process(process)
    raise RuntimeError(
        f"billow serve did not become healthy within {timeout}s; log:\n{log_path.read_text(errors='replace')}"
    )


def start_live_server(
    tmp_dir: Path,
    label: str = "live",
    *,
    org_name: str = "Billow Compat",
    extra_env: Mapping[str, str] | None = None,
    startup_timeout: float = STARTUP_TIMEOUT_SECONDS,
) -> LiveServer:
    """Create a database, start ``billow serve`` on it and wait for ``/health``.

    The caller must ``stop_live_server`` it (or use ``live_server``).
    """
    tmp_dir.mkdir(parents=True, exist_ok=True)
    name = f"{worker_id()}_{label}_{uuid.uuid4().hex[:6]}"
    database_url = create_test_database(tmp_dir, name)
    api_key = secrets.token_hex(16)
    hmac_key = str(uuid.uuid4())
    log_path = tmp_dir / f"billow-{name}.log"
    try:
        for _attempt in range(PORT_ATTEMPTS):
            port = free_port()
            env = server_env(
                database_url=database_url,
                port=port,
                api_key=api_key,
                hmac_key=hmac_key,
                org_name=org_name,
                extra=extra_env or {},
            )
            base_url = f"http://127.0.0.1:{port}"
            with log_path.open("ab") as log:
                process = subprocess.Popen(
                    [*billow_command(), "serve"],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    cwd=tmp_dir,
                    preexec_fn=_die_with_parent if sys.platform == "linux" else None,
                )
            if _wait_healthy(process, base_url, log_path, startup_timeout):
                return LiveServer(base_url, api_key, hmac_key, org_name, database_url, log_path, process)
        raise RuntimeError(
            f"billow serve exited at start {PORT_ATTEMPTS} times; log:\n{log_path.read_text()}"
        )
    except BaseException:
        drop_test_database(database_url)
        raise


def stop_live_server(server: LiveServer) -> None:
    try:
        server.stop()
    finally:
        drop_test_database(server.database_url)


@contextmanager
def live_server(tmp_dir: Path, label: str = "live", **kwargs: object) -> Iterator[LiveServer]:
    server = start_live_server(tmp_dir, label, **kwargs)  # type: ignore[arg-type]
    try:
        yield server
    finally:
        stop_live_server(server)
