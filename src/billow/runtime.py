"""The composition root: builds the database, clock, job registry, scheduler and worker once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import structlog

from billow.billing.adjustments import InvoiceAdjustmentHooks
from billow.billing.advance.jobs import advance_job_kinds, pay_in_advance_listener
from billow.billing.coupons import CouponsSource, prefetch_coupon_flags
from billow.billing.credits import applied_coupon_usage
from billow.billing.customer_queries import customer_has_invoices
from billow.billing.hooks import DraftRefreshHooks, InvoiceFinalizedHooks, TerminationCreditHooks
from billow.billing.jobs import billing_job_kinds, billing_tick_tasks
from billow.billing.payment_hooks import PaymentStatusHooks
from billow.billing.prefetch import BillingPrefetchHooks
from billow.billing.progressive.check import progressive_billing_listener
from billow.billing.progressive.credit import ProgressiveCreditSource
from billow.billing.voiding import InvoiceVoidHooks
from billow.core.clock import Clock, ManualClock, SystemClock, ensure_utc
from billow.core.hooks import Hooks
from billow.credit_notes.consumption import CreditNotesSource, prefetch_credit_note_flags
from billow.credit_notes.drafts import finalize_invoice_credit_notes, follow_refreshed_fees
from billow.credit_notes.invoice_void import (
    holds_credit,
    issue_void_credit_notes,
    recredit_consumed_notes,
    void_limits,
)
from billow.credit_notes.jobs import credit_note_job_kinds
from billow.credit_notes.termination import before_termination_invoice
from billow.customers.hooks import CustomerHooks
from billow.db.engine import Database
from billow.db.migrate import upgrade
from billow.jobs.models import ClockState
from billow.jobs.registry import JobKind, JobRegistry
from billow.jobs.scheduler import Scheduler, TickTask
from billow.jobs.worker import Worker
from billow.metering.hooks import IngestionHooks, MetricHooks
from billow.organizations.service import ensure_bootstrap_organization
from billow.pricing.add_ons.hooks import AddOnHooks
from billow.pricing.coupons.applied import customer_has_currency_coupons, terminate_customer_coupons
from billow.pricing.coupons.hooks import AppliedCouponHooks
from billow.pricing.coupons.jobs import coupon_tick_tasks
from billow.pricing.plans.hooks import PlanHooks
from billow.pricing.plans.jobs import plan_job_kinds
from billow.pricing.plans.lookup import (
    discard_charges_of_metric,
    discard_fixed_charges_of_add_on,
    metric_attached_to_plans,
    trim_charge_filters_of_metric,
)
from billow.settings import Settings
from billow.subscriptions.jobs import subscription_job_kinds, subscription_tick_tasks
from billow.subscriptions.queries import customer_has_subscriptions, plan_has_subscriptions
from billow.subscriptions.terminate import (
    terminate_customer_subscriptions,
    terminate_deleted_plan_subscriptions,
)
from billow.wallets.consumption import WalletsSource, prefetch_wallet_flags
from billow.wallets.invoice_void import recredit_voided_invoice
from billow.wallets.jobs import wallet_job_kinds, wallet_tick_tasks
from billow.wallets.transactions import on_payment_status_change
from billow.wallets.triggers import ingestion_listener, refresh_after_finalization
from billow.wallets.wallets import (
    customer_has_wallets,
    discard_wallet_targets_of_metric,
    terminate_customer_wallets,
)
from billow.webhooks.delivery import default_client_factory, delivery_job_kinds
from billow.webhooks.signing import JwtSigner, load_or_create_private_key

log = structlog.get_logger("billow.runtime")

CLOCK_STATE_NAME = "manual"


def build_hooks() -> Hooks:
    """What each package answers or does for the packages below it (``billow.core.hooks``): the
    one place where a lower package meets the upper ones, so that none imports upwards."""
    return Hooks(
        CustomerHooks(
            # Lago's ``Customer#editable?``.
            currency_holders=(
                customer_has_subscriptions,
                customer_has_invoices,
                customer_has_currency_coupons,
                customer_has_wallets,
            ),
            # Lago's ``TerminateRelationsService``, in its order. Still to add here: billing's
            # finalization of the draft invoices.
            on_delete=(
                terminate_customer_subscriptions,
                terminate_customer_coupons,
                terminate_customer_wallets,
            ),
        ),
        MetricHooks(
            attached_to_plans=(metric_attached_to_plans,),
            on_delete=(discard_charges_of_metric, discard_wallet_targets_of_metric),
            filters_changed=(trim_charge_filters_of_metric,),
        ),
        # Lago's event post-processing: pay-in-advance fees (one job per ingestion batch).
        # Lifetime usage / progressive billing: a debounced refresh per subscription.
        IngestionHooks(
            listeners=(pay_in_advance_listener(), progressive_billing_listener(), ingestion_listener())
        ),
        AddOnHooks(on_delete=(discard_fixed_charges_of_add_on,)),
        PlanHooks(attached_to_subscriptions=(plan_has_subscriptions,)),
        # What an invoice takes off its fees, in the order it persists (billing.md §4.3):
        # progressive-billing credit (step 4), coupons (step 5), credit notes (step 7), prepaid
        # credits (step 8).
        InvoiceAdjustmentHooks(
            sources=(ProgressiveCreditSource(), CouponsSource(), CreditNotesSource(), WalletsSource())
        ),
        # A group of billing jobs reads, for all its customers at once, whether each has any
        # coupon, credit note or wallet (``billow.billing.prefetch``).
        BillingPrefetchHooks(
            loaders=(prefetch_coupon_flags, prefetch_credit_note_flags, prefetch_wallet_flags)
        ),
        # A credit invoice's payment settles (or fails) the wallet top-up it bills.
        PaymentStatusHooks(on_change=(on_payment_status_change,)),
        # Applied coupons show their credits on invoices (``amount_cents_remaining``, ``credits``).
        AppliedCouponHooks(usage=applied_coupon_usage),
        # The unused pay-in-advance days' credit note, issued before the termination invoice.
        TerminationCreditHooks(before_invoice=(before_termination_invoice,)),
        # Draft credit notes follow their draft invoice's fees and finalization.
        DraftRefreshHooks(around_refresh=(follow_refreshed_fees,)),
        InvoiceFinalizedHooks(on_finalized=(finalize_invoice_credit_notes, refresh_after_finalization)),
        # A voided invoice gives back the credit notes and prepaid credits it consumed; credit notes
        # with credit block a void without explicit intent; ``generate_credit_note`` issues notes.
        InvoiceVoidHooks(
            blocks_void=(holds_credit,),
            on_voided=(recredit_consumed_notes, recredit_voided_invoice),
            credit_note_limits=void_limits,
            issue_credit_notes=issue_void_credit_notes,
        ),
    )


def build_job_kinds(signer: JwtSigner, client_factory: Callable[[float], httpx.Client]) -> list[JobKind]:
    """Every job kind Billow runs. Add a domain's kinds here."""
    return [
        *delivery_job_kinds(signer, client_factory),
        # Lago's ``Plans::DestroyService``: terminate (invoices queued) or cancel the plan's
        # subscriptions. Billing's finalization of its draft invoices goes here once it exists.
        *plan_job_kinds(before_delete=(terminate_deleted_plan_subscriptions,)),
        *subscription_job_kinds(),
        *billing_job_kinds(),
        *advance_job_kinds(),
        *credit_note_job_kinds(),
        *wallet_job_kinds(),
    ]


def build_tick_tasks() -> list[TickTask]:
    """Everything the hourly scheduler checks. Add a domain's tick tasks here."""
    return [*coupon_tick_tasks(), *subscription_tick_tasks(), *billing_tick_tasks(), *wallet_tick_tasks()]


@dataclass
class Runtime:
    settings: Settings
    db: Database
    clock: Clock
    signer: JwtSigner
    registry: JobRegistry
    scheduler: Scheduler
    worker: Worker
    hooks: Hooks
    clock_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def manual_clock(self) -> ManualClock | None:
        return self.clock if isinstance(self.clock, ManualClock) else None

    def persist_clock(self) -> None:
        clock = self.manual_clock
        if clock is None:
            return
        with self.db.session() as session:
            state = session.get(ClockState, CLOCK_STATE_NAME)
            if state is None:
                session.add(ClockState(name=CLOCK_STATE_NAME, now=clock.now()))
            else:
                state.now = clock.now()

    def close(self) -> None:
        self.db.dispose()


def _build_clock(settings: Settings, db: Database) -> Clock:
    if settings.clock != "manual":
        return SystemClock()
    start = ensure_utc(settings.clock_start) if settings.clock_start else SystemClock().now()
    with db.session() as session:
        state = session.get(ClockState, CLOCK_STATE_NAME)
        if state is not None and state.now > start:
            start = state.now
    return ManualClock(start)


def build_runtime(
    settings: Settings,
    *,
    migrate: bool = True,
    client_factory: Callable[[float], httpx.Client] = default_client_factory,
    worker_id: str | None = None,
    db: Database | None = None,
    private_key_pem: bytes | None = None,
) -> Runtime:
    """``db``: an open database to use instead of a new one on ``settings.database_url``;
    ``private_key_pem``: the webhook signing key, already loaded and checked, instead of the
    configured or stored one. Both let the test suite build a runtime per test cheaply."""
    if migrate:
        upgrade(settings.database_url)
    if db is None:
        db = Database(settings.database_url)
    clock = _build_clock(settings, db)
    with db.session() as session:
        pem = private_key_pem
        if pem is None:
            pem = load_or_create_private_key(session, settings.rsa_private_key, clock.now())
        if settings.org_api_key:
            ensure_bootstrap_organization(
                session,
                api_key=settings.org_api_key,
                name=settings.org_name,
                hmac_key=settings.org_hmac_key,
                now=clock.now(),
            )
    signer = JwtSigner(private_key_pem=pem, issuer=settings.public_api_url)
    hooks = build_hooks()
    registry = JobRegistry(build_job_kinds(signer, client_factory))
    scheduler = Scheduler(db, clock, settings, build_tick_tasks(), hooks=hooks)
    worker = Worker(db, clock, settings, registry, worker_id=worker_id, hooks=hooks)
    runtime = Runtime(settings, db, clock, signer, registry, scheduler, worker, hooks)
    runtime.persist_clock()
    return runtime
