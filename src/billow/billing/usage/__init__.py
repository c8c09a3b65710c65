"""The usage APIs (metering.md §4): current, projected and past usage of a subscription.

* :mod:`.narrowing` — the query's narrowing (one charge, a pricing-group value, no grouping,
  the whole subscription) and the usage source that applies it;
* :mod:`.current` — ``GET /customers/{id}/current_usage``: every charge priced by the same fee
  code invoices run (``billing.fees.compute.current_usage_charge_fees``), then taxes;
* :mod:`.projected` — ``GET /customers/{id}/projected_usage``: the same fees, each re-priced at
  the end of the period by its charge model's ``project``;
* :mod:`.past` — ``GET /customers/{id}/past_usage``: the charge fees of invoiced periods;
* :mod:`.serializers` — ``charges_usage`` entries (charge → filters, pricing groups).
"""
