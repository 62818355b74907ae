"""Schedules: a round's own reminder policy (over the settings' defaults).

Revision ID: 0006_schedules_policy
Revises: 0005_schedules
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_schedules_policy"
down_revision = "0005_schedules"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "round_reminder_policies",
        sa.Column("round_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("policy", sa.Text(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("set_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("round_id", name=op.f("pk_round_reminder_policies")),
    )


def downgrade() -> None:
    op.drop_table("round_reminder_policies")
