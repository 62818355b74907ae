"""Scoring: rounds, deadlines, scores, adjustments, submissions, audit log.

Types are spelled out here rather than imported from the models, so this
revision keeps creating the same schema whatever the models become.  Points
are NUMERIC(7, 2), and integer hundredths on SQLite (which has no decimal
type); datetimes are stored in UTC.

Revision ID: 0004_scoring
Revises: 0001_initial
Create Date: 2026-11-26
"""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from alembic import op

revision = "0004_scoring"
down_revision = "0001_initial"
branch_labels = ("scoring",)
depends_on = None

NAME = 64
CODE = 16
ACTOR = 128

ROUND_STATUSES = ("open", "closed", "published")
AUDIT_ACTIONS = (
    "score_set",
    "score_cleared",
    "adjustment_added",
    "adjustment_removed",
    "part_submitted",
    "part_unlocked",
    "round_opened",
    "round_closed",
    "round_published",
)


def _points() -> sa.types.TypeEngine[Decimal]:
    return sa.Numeric(7, 2).with_variant(sa.Integer(), "sqlite")


def _at() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _one_of(values: tuple[str, ...], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=24)


def upgrade() -> None:
    op.create_table(
        "rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("scheme_name", sa.String(200), nullable=False),
        sa.Column("scheme_year", sa.Integer(), nullable=False),
        sa.Column("scheme_hash", sa.String(64), nullable=False),
        sa.Column("status", _one_of(ROUND_STATUSES, "status"), nullable=False),
        sa.Column("opened_at", _at(), nullable=False),
        sa.Column("opened_by", sa.String(ACTOR), nullable=False),
        sa.Column("closed_at", _at(), nullable=True),
        sa.Column("published_at", _at(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rounds")),
    )
    op.create_index(
        "uq_rounds_one_open",
        "rounds",
        ["status"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )

    op.create_table(
        "round_deadlines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(NAME), nullable=True),
        sa.Column("code", sa.String(CODE), nullable=True),
        sa.Column("deadline", _at(), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"], name=op.f("fk_round_deadlines_round_id_rounds")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_round_deadlines")),
    )
    op.create_index(op.f("ix_round_deadlines_round_id"), "round_deadlines", ["round_id"])

    op.create_table(
        "scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(NAME), nullable=False),
        sa.Column("code", sa.String(CODE), nullable=False),
        sa.Column("scorer", sa.String(NAME), nullable=False),
        sa.Column("value", _points(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("updated_at", _at(), nullable=False),
        sa.Column("updated_by", sa.String(ACTOR), nullable=False),
        sa.CheckConstraint("value >= 0", name=op.f("ck_scores_value_not_negative")),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"], name=op.f("fk_scores_round_id_rounds")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scores")),
        sa.UniqueConstraint("round_id", "unit", "code", "scorer", name=op.f("uq_scores_round_id_unit_code_scorer")),
    )

    op.create_table(
        "adjustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("unit", sa.String(NAME), nullable=False),
        sa.Column("code", sa.String(CODE), nullable=False),
        sa.Column("recorder", sa.String(NAME), nullable=False),
        sa.Column("value", _points(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("case_key", sa.String(128), nullable=True),
        sa.Column("created_at", _at(), nullable=False),
        sa.Column("created_by", sa.String(ACTOR), nullable=False),
        sa.Column("removed_at", _at(), nullable=True),
        sa.Column("removed_by", sa.String(ACTOR), nullable=True),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"], name=op.f("fk_adjustments_round_id_rounds")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_adjustments")),
    )
    op.create_index(op.f("ix_adjustments_round_id"), "adjustments", ["round_id"])

    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(NAME), nullable=False),
        sa.Column("code", sa.String(CODE), nullable=False),
        sa.Column("submitted_at", _at(), nullable=False),
        sa.Column("submitted_by", sa.String(ACTOR), nullable=False),
        sa.Column("unlocked_at", _at(), nullable=True),
        sa.Column("unlocked_by", sa.String(ACTOR), nullable=True),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"], name=op.f("fk_submissions_round_id_rounds")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
    )
    op.create_index("ix_submissions_part", "submissions", ["round_id", "department", "code"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("at", _at(), nullable=False),
        sa.Column("actor", sa.String(ACTOR), nullable=False),
        sa.Column("actor_name", sa.String(NAME), nullable=False),
        sa.Column("actor_department", sa.String(NAME), nullable=False),
        sa.Column("action", _one_of(AUDIT_ACTIONS, "action"), nullable=False),
        sa.Column("unit", sa.String(NAME), nullable=True),
        sa.Column("code", sa.String(CODE), nullable=True),
        sa.Column("department", sa.String(NAME), nullable=True),
        sa.Column("old_value", _points(), nullable=True),
        sa.Column("new_value", _points(), nullable=True),
        sa.Column("old_note", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("source_message_id", sa.Text(), nullable=True),
        sa.Column("adjustment_id", sa.Integer(), nullable=True),
        sa.Column("undoes_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["adjustment_id"], ["adjustments.id"], name=op.f("fk_audit_log_adjustment_id_adjustments")
        ),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"], name=op.f("fk_audit_log_round_id_rounds")),
        sa.ForeignKeyConstraint(["undoes_id"], ["audit_log.id"], name=op.f("fk_audit_log_undoes_id_audit_log")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_actor", "audit_log", ["round_id", "actor"])
    op.create_index("ix_audit_log_part", "audit_log", ["round_id", "unit", "code"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("submissions")
    op.drop_table("adjustments")
    op.drop_table("scores")
    op.drop_table("round_deadlines")
    op.drop_table("rounds")
