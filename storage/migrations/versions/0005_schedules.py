"""Schedules: planner lease, reminder snoozes, paused rounds, pushed rankings.

Revision ID: 0005_schedules
Revises: 0001_initial
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_schedules"
down_revision = "0001_initial"
branch_labels = ("schedules",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduler_leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduler_leases")),
    )
    op.create_table(
        "reminder_snoozes",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform", "user_id", name=op.f("pk_reminder_snoozes")),
    )
    op.create_table(
        "round_reminder_pauses",
        sa.Column("round_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paused_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("round_id", name=op.f("pk_round_reminder_pauses")),
    )
    op.create_table(
        "ranking_pushes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ranks", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ranking_pushes")),
        sa.UniqueConstraint("round_id", "event", name=op.f("uq_ranking_pushes_round_id_event")),
    )


def downgrade() -> None:
    op.drop_table("ranking_pushes")
    op.drop_table("round_reminder_pauses")
    op.drop_table("reminder_snoozes")
    op.drop_table("scheduler_leases")
