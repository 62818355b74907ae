"""Conversation state: where each person is in the scoring conversation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.types import UTCDateTime


class ConversationRow(Base):
    """One person's place in the conversation (step, part, position, a pending score).

    ``data`` is the handlers' JSON; the table only keys and times it, so a new
    field in the conversation needs no migration.
    """

    __tablename__ = "conversations"

    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    step: Mapped[str] = mapped_column(String(24))
    data: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
