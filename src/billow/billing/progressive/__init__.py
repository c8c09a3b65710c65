"""Lifetime usage and progressive billing (metering.md §5, billing.md §5.3).

* :mod:`.thresholds` — the thresholds that apply to a subscription, its chain of plan changes;
* :mod:`.lifetime` — historical + invoiced + current usage of a chain, stored per chain;
* :mod:`.check` — the refresh job, the threshold check, what queues them (ingestion, hourly);
* :mod:`.invoices` — the progressive-billing invoice (exactly once per crossing);
* :mod:`.credit` — the ``AdjustmentSource`` crediting the period's latest progressive invoice;
* :mod:`.completion`, :mod:`.serializers` — API and webhook shapes.
"""
