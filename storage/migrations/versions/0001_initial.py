"""Initial, empty revision: the root every area's migration branch grows from.

Each area (scoring, messaging, conversation, schedules) keeps its own branch
(``branch_labels``) rooted here, so they can evolve independently;
``storage.migrate.upgrade`` brings all heads up.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
