"""Pay-in-advance charges (metering.md §1.3 step 4, §1.7, §3.8; billing.md §4.12).

* ``jobs``: the ingestion listener (one ``billing.pay_in_advance`` job per ingestion batch or
  group commit, queued in the events' transaction) and the job that turns each event into one
  fee per pay-in-advance charge of its subscription's plan;
* ``fees``: the fee of one event for one charge (the delta rule over the aggregation engine's
  per-event units);
* ``invoices``: where the fee goes — its own ``in_advance_charge`` invoice (invoiceable
  charges), or unattached (non-invoiceable charges);
* ``renewal``: the unattached fees of recurring non-invoiceable charges on billing days;
* ``estimate`` and ``api``: ``POST /events/estimate_fees``, ``/estimate_instant_fees`` and
  ``/batch_estimate_instant_fees``.
"""
