"""Billing runs, fees and invoices.

* :mod:`.invoicing` — the ``billing.bill_subscriptions`` job (docs/adr/0001-billing-jobs.md);
* :mod:`.periodic` — the billing-day tick; :mod:`.finalization` — drafts, grace periods,
  refresh, finalization (API and tick), zero-amount invoices; :mod:`.numbering`;
* :mod:`.fees` — the fee computation for one subscription and its boundaries (reused by the
  usage APIs): subscription fee, usage charges (through :mod:`.fees.usage`, the aggregation
  seam), fixed charges, spending-minimum and minimum-commitment true-ups;
* :mod:`.assembly` — fees → taxes and totals (:mod:`billow.billing.math`) → rows;
* :mod:`.subjects`, :mod:`.boundaries`, :mod:`.issuing`, :mod:`.parties` — the facts an invoice
  is computed from;
* :mod:`.api`, :mod:`.service`, :mod:`.queries`, :mod:`.serializers`, :mod:`.fee_serializers`.
"""
