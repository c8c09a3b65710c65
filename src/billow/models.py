"""Imports every table module so that ``metadata`` is complete (for Alembic and tests)."""

from __future__ import annotations

from billow.billing import models as _billing
from billow.billing.progressive import models as _progressive
from billow.credit_notes import models as _credit_notes
from billow.customers import models as _customers
from billow.db.base import Base
from billow.jobs import models as _jobs
from billow.metering import models as _metering
from billow.organizations import models as _organizations
from billow.pricing.add_ons import models as _add_ons
from billow.pricing.coupons import models as _coupons
from billow.pricing.plans import models as _plans
from billow.pricing.pricing_units import models as _pricing_units
from billow.pricing.taxes import models as _taxes
from billow.subscriptions import models as _subscriptions
from billow.wallets import models as _wallets
from billow.webhooks import models as _webhooks

metadata = Base.metadata

__all__ = [
    "_add_ons",
    "_billing",
    "_coupons",
    "_credit_notes",
    "_customers",
    "_jobs",
    "_metering",
    "_organizations",
    "_plans",
    "_pricing_units",
    "_progressive",
    "_subscriptions",
    "_taxes",
    "_wallets",
    "_webhooks",
    "metadata",
]
