"""What the progressive-billing webhooks serialize."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from billow.pricing.plans.models import UsageThreshold
from billow.subscriptions.models import Subscription


@dataclass(frozen=True)
class UsageThresholdReached:
    """``subscription.usage_threshold_reached``: the subscription as of ``at`` and the threshold."""

    subscription: Subscription
    threshold: UsageThreshold
    at: datetime

    @property
    def id(self) -> uuid.UUID:
        return self.subscription.id
