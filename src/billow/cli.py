"""``billow``: serve, worker, migrate, org, clock, webhooks."""

from __future__ import annotations

import json
import logging
import sys
from typing import Annotated

import httpx
import structlog
import typer
import uvicorn

from billow.background import BackgroundLoop
from billow.core.pagination import PageParams
from billow.core.timefmt import iso_z_ms, parse_iso_datetime
from billow.db.context import Ctx
from billow.db.engine import Database
from billow.db.migrate import upgrade
from billow.organizations import service as orgs
from billow.runtime import build_runtime
from billow.settings import Settings

app = typer.Typer(help="Billow: usage-based billing, wire-compatible with Lago.", no_args_is_help=True)
org_app = typer.Typer(help="Organizations and API keys.", no_args_is_help=True)
clock_app = typer.Typer(help="The manual test clock (BILLOW_CLOCK=manual).", no_args_is_help=True)
webhooks_app = typer.Typer(help="Webhook deliveries.", no_args_is_help=True)
app.add_typer(org_app, name="org")
app.add_typer(clock_app, name="clock")
app.add_typer(webhooks_app, name="webhooks")


def _configure_logging(level: str) -> None:
    """One JSON line per log record on stderr: cheap to write (no terminal rendering of
    tracebacks on the request path) and easy to ship."""
    logging.basicConfig(level=level.upper(), format="%(message)s")
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (BILLOW_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (BILLOW_PORT)")] = None,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="Run the API only")] = False,
    workers: Annotated[int, typer.Option(help="Worker threads in this process")] = 1,
) -> None:
    """Migrate the database, then run the API with an in-process worker and scheduler."""
    from billow.api.app import create_app

    settings = Settings()
    if host:
        settings.host = host
    if port:
        settings.port = port
    _configure_logging(settings.log_level)
    runtime = build_runtime(settings)
    loop = None if no_worker else BackgroundLoop(runtime, threads=workers)
    if loop:
        loop.start()
    typer.echo(f"Billow listening on http://{settings.host}:{settings.port} ({runtime.db.dialect})", err=True)
    try:
        uvicorn.run(
            create_app(runtime),
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level.lower(),
            access_log=False,
        )
    finally:
        if loop:
            loop.stop()
        runtime.close()


@app.command()
def worker(
    threads: Annotated[int, typer.Option(help="Worker threads")] = 1,
) -> None:
    """Run the worker and scheduler only (no HTTP)."""
    settings = Settings()
    _configure_logging(settings.log_level)
    runtime = build_runtime(settings)
    BackgroundLoop(runtime, threads=threads).run_forever()


@app.command()
def migrate() -> None:
    """Apply database migrations."""
    settings = Settings()
    upgrade(settings.database_url)
    typer.echo("migrated")


@org_app.command("create")
def org_create(name: str) -> None:
    """Create an organization; its API key is printed alone on the last line."""
    settings = Settings()
    runtime = build_runtime(settings)
    with runtime.db.session() as session:
        created = orgs.create_organization(session, name=name, now=runtime.clock.now())
        typer.echo(f"organization {created.organization.id} ({created.organization.name}) created")
        typer.echo(created.api_key)
    runtime.close()


@org_app.command("show")
def org_show(ref: Annotated[str | None, typer.Argument(help="id, name or API key")] = None) -> None:
    """Print an organization's id, name and HMAC key (the bootstrap one by default)."""
    settings = Settings()
    upgrade(settings.database_url)
    db = Database(settings.database_url)
    with db.session() as session:
        if ref is None:
            if settings.org_api_key:
                ref = settings.org_api_key
            else:
                all_orgs = orgs.list_organizations(session)
                if len(all_orgs) != 1:
                    raise typer.BadParameter("several organizations exist: name one (id, name or API key)")
                ref = str(all_orgs[0].id)
        org = orgs.find_organization(session, ref)
        typer.echo(f"id: {org.id}")
        typer.echo(f"name: {org.name}")
        typer.echo(f"hmac_key: {org.hmac_key}")
    db.dispose()


@org_app.command("list")
def org_list() -> None:
    settings = Settings()
    db = Database(settings.database_url)
    with db.session() as session:
        for org in orgs.list_organizations(session):
            typer.echo(f"{org.id}\t{org.name}")
    db.dispose()


@clock_app.command("advance")
def clock_advance(
    to: Annotated[str, typer.Option("--to", help="ISO-8601 target time")],
    api_url: Annotated[str | None, typer.Option(help="Move a running server's clock through its API")] = None,
    api_key: Annotated[str | None, typer.Option(help="API key for --api-url")] = None,
) -> None:
    """Move the manual clock forward: tick every hour crossed and drain the queue."""
    settings = Settings()
    target = parse_iso_datetime(to)
    if api_url:
        resp = httpx.post(
            api_url.rstrip("/") + "/api/v1/test_helpers/clock",
            json={"clock": {"now": iso_z_ms(target)}},
            headers={"Authorization": f"Bearer {api_key or settings.org_api_key or ''}"},
            timeout=None,
        )
        typer.echo(resp.text)
        raise typer.Exit(0 if resp.status_code == 200 else 1)
    if settings.clock != "manual":
        raise typer.BadParameter("the clock is not manual (set BILLOW_CLOCK=manual)")
    from billow.testclock.service import advance_clock

    runtime = build_runtime(settings)
    now = advance_clock(runtime, target)
    typer.echo(iso_z_ms(now))
    runtime.close()


@webhooks_app.command("list")
def webhooks_list(
    org: Annotated[str, typer.Option(help="Organization id, name or API key")],
    status: Annotated[str | None, typer.Option(help="pending, retrying, succeeded, failed")] = None,
    limit: Annotated[int, typer.Option()] = 50,
) -> None:
    from billow.webhooks import service as webhooks

    settings = Settings()
    runtime = build_runtime(settings)
    with runtime.db.session() as session:
        organization = orgs.find_organization(session, org)
        ctx = Ctx(session, runtime.clock, settings, organization.id, runtime.hooks)
        items, total = webhooks.list_webhooks(ctx, PageParams(1, limit), status=status)
        for w in items:
            typer.echo(
                f"{w.id}\t{w.webhook_type}\t{w.status}\tretries={w.retries}\thttp={w.http_status}\t{w.endpoint}"
            )
        typer.echo(f"{len(items)} of {total}")
    runtime.close()


@webhooks_app.command("retry")
def webhooks_retry(
    webhook_id: str,
    org: Annotated[str, typer.Option(help="Organization id, name or API key")],
) -> None:
    """Send a failed webhook again (one attempt)."""
    from billow.webhooks import service as webhooks

    settings = Settings()
    runtime = build_runtime(settings)
    with runtime.db.session() as session:
        organization = orgs.find_organization(session, org)
        ctx = Ctx(session, runtime.clock, settings, organization.id, runtime.hooks)
        webhooks.retry_webhook(ctx, webhook_id)
    runtime.worker.drain()
    with runtime.db.session() as session:
        ctx = Ctx(session, runtime.clock, settings, organization.id, runtime.hooks)
        webhook, _attempts = webhooks.get_webhook(ctx, webhook_id)
        typer.echo(json.dumps({"status": webhook.status, "http_status": webhook.http_status}))
    runtime.close()


def main() -> None:
    app()
