"""``POST /invoices/preview`` (billing.md §4.11): the invoice a customer would get, written nowhere.

How: the preview runs the very code that bills real invoices
(:func:`billow.billing.invoicing.create_subscription_invoice` with ``preview=True``: the fees of
:mod:`billow.billing.fees.compute`, then :mod:`billow.billing.assembly` with every adjustment
source — progressive-billing credit, coupons, credit notes, wallets — and taxes) inside a
transaction that is **always rolled back** (:func:`billow.billing.preview.api.rolled_back`). A
customer given inline, a subscription to a plan not yet subscribed and the coupons named in the
request are created in that transaction by their own services, so they are validated exactly as
the API would validate them; the invoice is serialized before the rollback. Nothing survives it:
no rows, no jobs, no webhooks (all of which are rows of the same transaction — the transactional
outbox). There is thus a single implementation of "what does this cost", and a preview equals the
invoice later generated for the same inputs (tests/billing/test_preview.py).

Contexts (Lago's ``Invoices::Preview::SubscriptionsService``):

* ``plan_code`` (+ ``subscription_at``, ``billing_time``): a new subscription for the customer
  (existing by ``customer.external_id``, else built from the inline ``customer``). A
  pay-in-advance plan is evaluated at its start (the start invoice); an arrears plan at the end
  of its first period.
* ``subscriptions.external_ids``: the customer's active subscriptions (or the one pending
  subscription starting in the future), evaluated at the end of their current period (their next
  periodic invoice). They must share currency, billing period end and billing entity.
* Simulated termination (``subscriptions.terminated_at``) and plan change
  (``subscriptions.plan_code``) are not supported yet: 422.

Coupons: the customer's active applied coupons; when it has none, the request's ``coupons``
(existing coupons by code, else coupons built from the given attributes).
"""
