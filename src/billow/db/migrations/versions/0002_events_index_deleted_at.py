"""events: the aggregation index ends with deleted_at (counts read the index alone)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 15:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_NAME = "ix_events_org_subscription_code_timestamp"
_COLUMNS = ["organization_id", "external_subscription_id", "code", "timestamp"]


def upgrade() -> None:
    op.drop_index(_NAME, table_name="events")
    op.create_index(_NAME, "events", [*_COLUMNS, "deleted_at"], unique=False)


def downgrade() -> None:
    op.drop_index(_NAME, table_name="events")
    op.create_index(_NAME, "events", _COLUMNS, unique=False)
