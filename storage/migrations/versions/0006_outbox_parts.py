"""Outbox: posts of a multi-part message sent (retries go on from there), throttled attempts.

Revision ID: 0006_outbox_parts
Revises: 0002_messaging
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_outbox_parts"
down_revision = "0002_messaging"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("parts_sent", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("throttles", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("throttles")
        batch.drop_column("parts_sent")
