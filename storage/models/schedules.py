"""Schedule tables: the planner lease, snoozes, paused rounds, pushed rankings.

No foreign key to rounds: the schedules branch of migrations grows from the
root on its own, and a row about a deleted round is harmless.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.types import UTCDateTime


class SchedulerLeaseRow(Base):
    """Who plans scheduled sends now, until when, and when planning last ran.

    One row per lease name; a process holds it while ``lease_until`` is
    ahead and renews it every sweep, so of two ``scorebot serve`` processes
    only one plans at a time, and the other takes over when it stops.
    """

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    lease_until: Mapped[datetime] = mapped_column(UTCDateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SnoozeRow(Base):
    """A member's 稍后提醒: their reminders wait until ``until``."""

    __tablename__ = "reminder_snoozes"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RoundPauseRow(Base):
    """A round whose reminders an admin paused (the digest goes on)."""

    __tablename__ = "round_reminder_pauses"

    round_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    paused_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paused_by: Mapped[str] = mapped_column(String(128))


class RankingPushRow(Base):
    """The ranks of a pushed ranking, to show rank changes in the next push."""

    __tablename__ = "ranking_pushes"
    __table_args__ = (UniqueConstraint("round_id", "event"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(64))
    pushed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ranks: Mapped[str] = mapped_column(Text)  # JSON {unit: rank}


class RoundPolicyRow(Base):
    """A round's own reminder settings over the defaults (开启考核 … 提前3天, ``scorebot schedule policy``)."""

    __tablename__ = "round_reminder_policies"

    round_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    policy: Mapped[str] = mapped_column(Text)  # JSON, the keys of schedules.timing.POLICY_KEYS
    set_at: Mapped[datetime] = mapped_column(UTCDateTime)
    set_by: Mapped[str] = mapped_column(String(128))
