"""The messenger-neutral inbound vocabulary.

Adapters turn their wire formats into these; handlers see nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Platform(StrEnum):
    WECOM = "wecom"
    DINGTALK = "dingtalk"
    SANDBOX = "sandbox"


@dataclass(frozen=True, slots=True)
class UserKey:
    """Who, across platforms: the key of conversation state and per-user locks."""

    platform: Platform
    user_id: str


class EventKind(StrEnum):
    TEXT = "text"
    CARD_ACTION = "card_action"
    FILE = "file"


@dataclass(frozen=True, slots=True)
class InboundEvent:
    """One thing a person did: typed text, tapped a card button, sent a file.

    ``message_id`` is the platform's identity of the delivery (WeCom MsgId, or
    FromUserName+CreateTime+key for events; DingTalk msgId): a retried
    callback carries the same one, which is what dedupe keys on.
    """

    platform: Platform
    user_id: str
    kind: EventKind
    message_id: str
    received_at: datetime
    text: str = ""
    action_key: str = ""
    selected: tuple[str, ...] = ()
    chat_id: str | None = None
    card_id: str | None = None
    # An opaque platform handle for answering in place: WeCom's response_code
    # of a card click, DingTalk's sessionWebhook.  Handlers only pass it back.
    reply_token: str | None = None
    file_name: str | None = None
    file_data: bytes | None = field(default=None, repr=False)

    @property
    def user(self) -> UserKey:
        return UserKey(self.platform, self.user_id)

    @property
    def dedupe_key(self) -> str:
        return f"{self.platform.value}:{self.message_id}"

    @property
    def in_group(self) -> bool:
        return self.chat_id is not None
