"""The billing package's job kinds and hourly tick tasks (registered in ``billow.runtime``)."""

from __future__ import annotations

from billow.billing.fees.engine import FeeEngine, build_fee_engine
from billow.billing.finalization import FINALIZE_INVOICE_JOB, finalization_tick_task, handle_finalize_invoice
from billow.billing.invoicing import BILL_SUBSCRIPTIONS_JOB, bill_subscriptions_handler
from billow.billing.overdue import overdue_tick_task
from billow.billing.periodic import periodic_billing_tick_task
from billow.billing.prefetch import prepare_bill_subscriptions
from billow.billing.progressive.check import REFRESH_JOB, progressive_billing_tick_task, refresh_handler
from billow.jobs.registry import JobKind
from billow.jobs.scheduler import TickTask


def billing_job_kinds(engine: FeeEngine | None = None) -> list[JobKind]:
    engine = engine or build_fee_engine()
    return [
        JobKind(
            BILL_SUBSCRIPTIONS_JOB,
            bill_subscriptions_handler(engine),
            shares_reads=True,
            prepare=prepare_bill_subscriptions,
        ),
        JobKind(FINALIZE_INVOICE_JOB, handle_finalize_invoice(engine)),
        JobKind(REFRESH_JOB, refresh_handler(engine)),
    ]


def billing_tick_tasks() -> list[TickTask]:
    """Periodic billing, drafts due for finalization, lifetime-usage refreshes (progressive
    billing), then invoices whose payment fell overdue."""
    return [
        periodic_billing_tick_task(),
        finalization_tick_task(),
        progressive_billing_tick_task(),
        overdue_tick_task(),
    ]
