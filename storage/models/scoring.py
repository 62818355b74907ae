"""Scoring tables: rounds, their deadlines, current scores, adjustments, submissions, the audit log.

Names of units, departments and parts are stored as the directory and
scheme spell them (canonical names), not as foreign keys: the directory and
scheme live in files, and a round must stay readable after they change.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.points_type import Points
from storage.types import UTCDateTime

NAME = 64  # unit and department names (the scheme and directory files allow 64)
CODE = 16  # part and adjustment codes
ACTOR = 128  # "platform:user id"


class RoundStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    PUBLISHED = "published"


class AuditAction(StrEnum):
    SCORE_SET = "score_set"
    SCORE_CLEARED = "score_cleared"
    ADJUSTMENT_ADDED = "adjustment_added"
    ADJUSTMENT_REMOVED = "adjustment_removed"
    PART_SUBMITTED = "part_submitted"
    PART_UNLOCKED = "part_unlocked"
    ROUND_OPENED = "round_opened"
    ROUND_CLOSED = "round_closed"
    ROUND_PUBLISHED = "round_published"


def _enum(cls: type[StrEnum], name: str) -> Enum:
    # A VARCHAR with a CHECK rather than a native PostgreSQL enum: adding a
    # value later is then a plain migration on both backends.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=24,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Round(Base):
    """One assessment round, tied to the scheme it is scored by."""

    __tablename__ = "rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    scheme_name: Mapped[str] = mapped_column(String(200))
    scheme_year: Mapped[int]
    #: sha256 of the scheme file's text: a round is scored by exactly one scheme
    scheme_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[RoundStatus] = mapped_column(_enum(RoundStatus, "status"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    opened_by: Mapped[str] = mapped_column(String(ACTOR))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        # At most one round is open: two admins opening at once cannot both win.
        Index(
            "uq_rounds_one_open",
            "status",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )


class RoundDeadline(Base):
    """A deadline for a department's parts; NULL department or code means all."""

    __tablename__ = "round_deadlines"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    department: Mapped[str | None] = mapped_column(String(NAME))
    code: Mapped[str | None] = mapped_column(String(CODE))
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())


class Score(Base):
    """The current value of one part for one unit by one scorer department."""

    __tablename__ = "scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    unit: Mapped[str] = mapped_column(String(NAME))
    code: Mapped[str] = mapped_column(String(CODE))
    scorer: Mapped[str] = mapped_column(String(NAME))
    value: Mapped[Decimal] = mapped_column(Points())
    note: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(ACTOR))

    __table_args__ = (
        UniqueConstraint("round_id", "unit", "code", "scorer"),
        CheckConstraint("value >= 0", name="value_not_negative"),
    )


class Adjustment(Base):
    """A bonus, deduction or veto entry; removal is soft so history stays whole."""

    __tablename__ = "adjustments"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"), index=True)
    unit: Mapped[str] = mapped_column(String(NAME))
    code: Mapped[str] = mapped_column(String(CODE))
    recorder: Mapped[str] = mapped_column(String(NAME))
    value: Mapped[Decimal | None] = mapped_column(Points())
    reason: Mapped[str] = mapped_column(Text)
    case: Mapped[str | None] = mapped_column("case_key", String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(ACTOR))
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_by: Mapped[str | None] = mapped_column(String(ACTOR))


class Submission(Base):
    """A department declared a part done; an admin's unlock reopens it.

    One row per submission: the latest row for (round, department, code)
    gives the state, earlier rows are history.
    """

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    department: Mapped[str] = mapped_column(String(NAME))
    code: Mapped[str] = mapped_column(String(CODE))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_by: Mapped[str] = mapped_column(String(ACTOR))
    unlocked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    unlocked_by: Mapped[str | None] = mapped_column(String(ACTOR))

    __table_args__ = (Index("ix_submissions_part", "round_id", "department", "code"),)


class AuditRow(Base):
    """Append-only: every change, who made it, old → new.  Never updated or deleted."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(ACTOR))
    actor_name: Mapped[str] = mapped_column(String(NAME))
    actor_department: Mapped[str] = mapped_column(String(NAME))
    action: Mapped[AuditAction] = mapped_column(_enum(AuditAction, "action"))
    unit: Mapped[str | None] = mapped_column(String(NAME))
    code: Mapped[str | None] = mapped_column(String(CODE))
    #: the scorer (scores), recorder (adjustments) or submitting department (parts)
    department: Mapped[str | None] = mapped_column(String(NAME))
    old_value: Mapped[Decimal | None] = mapped_column(Points())
    new_value: Mapped[Decimal | None] = mapped_column(Points())
    #: the note before a score change, so an undo can restore it
    old_note: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    source_message_id: Mapped[str | None] = mapped_column(Text)
    adjustment_id: Mapped[int | None] = mapped_column(ForeignKey("adjustments.id"))
    #: set on the row an undo writes: the row it reverted
    undoes_id: Mapped[int | None] = mapped_column(ForeignKey("audit_log.id"))

    __table_args__ = (
        Index("ix_audit_log_actor", "round_id", "actor"),
        Index("ix_audit_log_part", "round_id", "unit", "code"),
    )
