"""What the sandbox page POSTs, validated, and the neutral event it becomes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.events import EventKind, InboundEvent, Platform

_ID = r"^[A-Za-z0-9_.@-]+$"


class PostedEvent(BaseModel):
    """One thing typed or tapped on the page.

    ``client_msg_id`` is made by the page once per message and reused on a
    retry, so it plays the platform message id: posting it again has no effect.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_msg_id: str = Field(min_length=1, max_length=64, pattern=_ID)
    user_id: str = Field(min_length=1, max_length=64, pattern=_ID)
    kind: Literal["text", "card_action"]
    text: str = Field(default="", max_length=4000)
    action_key: str = Field(default="", max_length=1024)
    selected: tuple[str, ...] = Field(default=(), max_length=20)
    chat_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=_ID)
    card_id: str | None = Field(default=None, max_length=128)
    # The delivery the clicked card came in: replies "in place" replace it.
    card_delivery: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _has_content(self) -> Self:
        if self.kind == "text" and not self.text.strip():
            raise ValueError("text 消息的 text 不能为空")
        if self.kind == "card_action" and not self.action_key:
            raise ValueError("card_action 需要 action_key")
        return self

    def to_event(self, now: datetime) -> InboundEvent:
        return InboundEvent(
            platform=Platform.SANDBOX,
            user_id=self.user_id,
            kind=EventKind.TEXT if self.kind == "text" else EventKind.CARD_ACTION,
            message_id=f"{self.user_id}:{self.client_msg_id}",
            received_at=now,
            text=self.text,
            action_key=self.action_key,
            selected=self.selected,
            chat_id=self.chat_id,
            card_id=self.card_id,
            reply_token=str(self.card_delivery) if self.card_delivery else None,
        )
