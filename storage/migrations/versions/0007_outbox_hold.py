"""Outbox: a row may be held back (quiet hours) without holding up later rows to its target.

Revision ID: 0007_outbox_hold
Revises: 0006_outbox_parts
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_outbox_hold"
down_revision = "0006_outbox_parts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("held_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("held_until")
