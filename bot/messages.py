"""The messenger-neutral outbound vocabulary.

Handlers and schedules build these; each adapter renders them for its wire.
They are pydantic models because they cross the storage boundary as JSON
(the outbox keeps them until they are sent).
"""

from __future__ import annotations

import base64
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator

from bot.events import Platform


def _b64_decode(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return base64.b64decode(value)
    raise ValueError("expected bytes or base64 text")


Base64Bytes = Annotated[
    bytes,
    PlainValidator(_b64_decode),
    PlainSerializer(lambda b: base64.b64encode(b).decode("ascii"), return_type=str),
]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Text(_Frozen):
    kind: Literal["text"] = "text"
    content: str


class Markdown(_Frozen):
    """A small markdown subset every platform renders: headings, bold, lists."""

    kind: Literal["markdown"] = "markdown"
    content: str


class ButtonStyle(StrEnum):
    PRIMARY = "primary"
    DEFAULT = "default"
    DANGER = "danger"


class Button(_Frozen):
    text: str
    key: str
    style: ButtonStyle = ButtonStyle.DEFAULT


class Option(_Frozen):
    """One entry of a card's pick-one list: ``id`` is the text command it stands for."""

    id: str
    text: str


class Card(_Frozen):
    """A card with a title, a few key/value rows, body lines and buttons.

    Adapters map it to their richest card that fits (WeCom template cards,
    DingTalk markdown with command links) and enforce their own limits;
    buttons beyond what a platform shows must also work as typed text,
    so every button's ``key`` is a text command the handlers understand.
    """

    kind: Literal["card"] = "card"
    title: str
    description: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    lines: tuple[str, ...] = ()
    buttons: tuple[Button, ...] = ()
    #: A pick-one list (candidates, choices): where a platform has one (WeCom's
    #: vote card) it shows as a list with a submit button; elsewhere, as buttons
    #: before ``buttons``.  Choosing an option is the same as typing its ``id``.
    options: tuple[Option, ...] = ()
    # A stable id for the card so a click can update it in place (WeCom task_id).
    card_id: str | None = None

    @property
    def commands(self) -> tuple[Button, ...]:
        """Every command the card offers, options first, as buttons (platforms with no lists)."""
        return (*(Button(text=o.text, key=o.id) for o in self.options), *self.buttons)


class Image(_Frozen):
    kind: Literal["image"] = "image"
    filename: str
    data: Base64Bytes


class File(_Frozen):
    kind: Literal["file"] = "file"
    filename: str
    data: Base64Bytes


Message = Annotated[Text | Markdown | Card | Image | File, Field(discriminator="kind")]


class TargetKind(StrEnum):
    USER = "user"
    GROUP = "group"


class Target(_Frozen):
    """Where a message goes: one member on a platform, or a group chat/robot."""

    platform: Platform
    kind: TargetKind
    id: str

    @classmethod
    def user(cls, platform: Platform, user_id: str) -> Target:
        return cls(platform=platform, kind=TargetKind.USER, id=user_id)

    @classmethod
    def group(cls, platform: Platform, group_id: str) -> Target:
        return cls(platform=platform, kind=TargetKind.GROUP, id=group_id)


class Outbound(_Frozen):
    """A message to send, as the outbox stores it.

    ``reply_token`` (copied from the inbound event) asks the adapter to answer
    in place where it can: WeCom updates the clicked card, DingTalk answers
    on the session webhook.  ``dedupe_key`` makes an enqueue idempotent
    (a scheduled send's round/kind/target/slot).
    """

    target: Target
    message: Message
    reply_token: str | None = None
    dedupe_key: str | None = None
