"""Access tokens shared between processes (messenger APIs).

Revision ID: 0003_tokens
Revises: 0001_initial
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_tokens"
down_revision = "0001_initial"
branch_labels = ("tokens",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_tokens",
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("app_key", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform", "app_key", name=op.f("pk_access_tokens")),
    )


def downgrade() -> None:
    op.drop_table("access_tokens")
