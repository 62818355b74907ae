"""Messaging tables: inbound events (dedupe), the outbox, sandbox deliveries."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.types import UTCDateTime


class EventStatus(StrEnum):
    RECEIVED = "received"
    HANDLED = "handled"
    FAILED = "failed"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


def _in(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


class InboundEventRow(Base):
    """One inbound event, kept so a platform retry is recognised and a crash resumes it."""

    __tablename__ = "inbound_events"
    __table_args__ = (
        CheckConstraint(_in("status", EventStatus), name="status"),
        Index("ix_inbound_events_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    platform: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(128))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxRow(Base):
    """One outbound message, written in the transaction that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(_in("status", OutboxStatus), name="status"),
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_outbox_target", "target_platform", "target_kind", "target_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_platform: Mapped[str] = mapped_column(String(16))
    target_kind: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[str] = mapped_column(String(255))
    message: Mapped[str] = mapped_column(Text)
    reply_token: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A message the platform takes in several posts (a long text): how many
    # went out, so a retry goes on from the next one instead of repeating them.
    parts_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Of the attempts, how many the platform answered "slow down" (they count
    # for the back-off, not against the give-up bound).
    throttles: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Held back until then (a notice written in quiet hours): it waits without
    # holding up later messages to the same person, which are answers.
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    platform_message_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SandboxDeliveryRow(Base):
    """A message the sandbox messenger 'delivered': what its chat page shows."""

    __tablename__ = "sandbox_deliveries"
    __table_args__ = (Index("ix_sandbox_deliveries_target", "target_kind", "target_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_kind: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[str] = mapped_column(String(255))
    outbox_id: Mapped[int | None] = mapped_column(Integer)
    view: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
