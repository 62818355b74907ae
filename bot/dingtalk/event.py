"""DingTalk robot messages and card callbacks → the neutral ``InboundEvent``.

One parser for both ways in: the HTTP callback's JSON body and the Stream
frame's ``data`` are the same robot message, validated by the same model.

DingTalk's callback signature covers the timestamp only, not the body, so a
robot message is also checked against what it must say of itself
(``Expected``): its ``robotCode`` is ours, or it is refused; its
``sessionWebhook`` is used to answer only when it is on our old-API host
(``SCOREBOT_DINGTALK_OAPI_BASE``), else the answer goes through the API.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.dingtalk import constants as c
from bot.dingtalk import session
from bot.dingtalk.errors import CallbackRejected
from bot.events import EventKind, InboundEvent, Platform

log = logging.getLogger(__name__)


class _Wire(BaseModel):
    # DingTalk adds fields over time: unknown ones are ignored, known ones checked.
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class TextContent(_Wire):
    content: str = ""


class RichContent(_Wire):
    rich_text: list[dict[str, Any]] = Field(default_factory=list, alias="richText")


class AtUser(_Wire):
    dingtalk_id: str = Field(default="", alias="dingtalkId")
    staff_id: str | None = Field(default=None, alias="staffId")


class RobotMessage(_Wire):
    """The robot message body (HTTP mode) and Stream frame data, as far as we read it."""

    msg_id: str = Field(alias="msgId", min_length=1)
    msgtype: str = Field(min_length=1)
    create_at: int = Field(alias="createAt", gt=0)
    conversation_type: str = Field(alias="conversationType", pattern=r"^[12]$")
    conversation_id: str = Field(alias="conversationId", min_length=1)
    sender_staff_id: str | None = Field(default=None, alias="senderStaffId")
    sender_id: str = Field(default="", alias="senderId")
    sender_nick: str = Field(default="", alias="senderNick")
    robot_code: str = Field(default="", alias="robotCode")
    chatbot_user_id: str = Field(default="", alias="chatbotUserId")
    is_in_at_list: bool = Field(default=False, alias="isInAtList")
    at_users: list[AtUser] = Field(default_factory=list, alias="atUsers")
    session_webhook: str | None = Field(default=None, alias="sessionWebhook")
    session_webhook_expired_time: int | None = Field(default=None, alias="sessionWebhookExpiredTime")
    text: TextContent | None = None
    content: dict[str, Any] | None = None


_DEFAULT_PORTS = {"https": 443, "http": 80}


def origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL, lower-cased, the port spelled out; None for anything else."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


@dataclass(frozen=True, slots=True)
class Expected:
    """What a robot message must say of itself, since DingTalk signs only the timestamp.

    ``robot_code``: the app robot's code (SCOREBOT_DINGTALK_ROBOT_CODE); a
    message for another robot is refused.  ``session_host``: the origin of
    SCOREBOT_DINGTALK_OAPI_BASE, the only host a session webhook may be on.
    """

    robot_code: str
    session_host: tuple[str, str, int] | None

    @classmethod
    def of(cls, robot_code: str, oapi_base: str) -> Expected:
        return cls(robot_code=robot_code, session_host=origin(oapi_base))

    def allows_session_webhook(self, url: str) -> bool:
        return self.session_host is not None and origin(url) == self.session_host


def describe(exc: ValidationError) -> str:
    """A validation error as one line naming the fields, for a 400 answer and the log."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in err["loc"]) or "body"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def parse_robot_message(data: Any) -> RobotMessage:
    try:
        return RobotMessage.model_validate(data)
    except ValidationError as exc:
        raise CallbackRejected(f"请求内容有误：{describe(exc)}") from None


# A leading @mention: "@平安考评助手 排名".  DingTalk usually strips the
# robot's own @name from the text, but clients differ, and what is left
# may start with the (U+2005) space that follows a mention.
_LEADING_MENTION = re.compile(r"^(?:\s*@[^\s\u2005]+[\s\u2005]*)+")


def strip_mentions(text: str) -> str:
    return _LEADING_MENTION.sub("", text).strip(" \t\r\n\u2005\u3000")


def _text_of(message: RobotMessage) -> str | None:
    if message.msgtype == c.MSGTYPE_TEXT:
        return message.text.content if message.text is not None else ""
    if message.msgtype == c.MSGTYPE_RICH_TEXT and message.content is not None:
        rich = RichContent.model_validate(message.content)
        return "".join(str(item.get("text", "")) for item in rich.rich_text)
    return None


def reply_token(message: RobotMessage, expected: Expected) -> str | None:
    """The session webhook with its expiry, as one opaque token (``bot.dingtalk.session``).

    None when there is none, or when it is on another host than our old-API
    host: the body is not signed, and an answer must never go to a URL a
    forger wrote.  The answer then goes through the robot API.
    """
    if not message.session_webhook:
        return None
    if not expected.allows_session_webhook(message.session_webhook):
        where = origin(message.session_webhook)
        log.warning(
            "dingtalk message %s: sessionWebhook on another host than SCOREBOT_DINGTALK_OAPI_BASE (%s), not used",
            message.msg_id,
            where[1] if where else "not an http(s) URL",
        )
        return None
    return session.encode(message.session_webhook, message.session_webhook_expired_time)


# How much of a foreign robotCode the refusal quotes.
_QUOTED_CODE_CHARS = 64


def robot_event(data: Any, expected: Expected) -> InboundEvent | None:
    """The neutral event for a text robot message; None for what the bot does not read.

    Raises ``CallbackRejected``: 400 on a body that is not a robot message,
    403 on one for another robot than ours.
    """
    message = parse_robot_message(data)
    if message.robot_code != expected.robot_code:
        raise CallbackRejected(
            f"robotCode {message.robot_code[:_QUOTED_CODE_CHARS]!r} is not this bot's "
            "(SCOREBOT_DINGTALK_ROBOT_CODE, the app key by default)",
            status=403,
        )
    text = _text_of(message)
    if text is None:
        log.debug("dingtalk message ignored: msgtype=%s", message.msgtype)
        return None
    if not message.sender_staff_id:
        # Outside the corp (no staff id): the robot cannot message them back by id.
        log.info("dingtalk message without senderStaffId ignored (msgId=%s)", message.msg_id)
        return None
    in_group = message.conversation_type == c.CONVERSATION_GROUP
    return InboundEvent(
        platform=Platform.DINGTALK,
        user_id=message.sender_staff_id,
        kind=EventKind.TEXT,
        message_id=message.msg_id,
        received_at=datetime.fromtimestamp(message.create_at / 1000, tz=UTC),
        text=strip_mentions(text) if in_group else text.strip(),
        chat_id=message.conversation_id if in_group else None,
        reply_token=reply_token(message, expected),
    )


class CardPrivateData(_Wire):
    action_ids: list[str] = Field(default_factory=list, alias="actionIds")
    params: dict[str, Any] = Field(default_factory=dict)


class CardContent(_Wire):
    card_private_data: CardPrivateData = Field(default_factory=CardPrivateData, alias="cardPrivateData")


class CardCallback(_Wire):
    """An interactive card's button callback (互动卡片回调)."""

    user_id: str = Field(alias="userId", min_length=1)
    out_track_id: str = Field(default="", alias="outTrackId")
    content: CardContent = Field(default_factory=CardContent)

    @classmethod
    def from_data(cls, data: Any) -> CardCallback:
        # ``content`` arrives as a JSON string inside the JSON data.
        if isinstance(data, dict) and isinstance(data.get("content"), str):
            try:
                data = {**data, "content": json.loads(data["content"])}
            except ValueError:
                raise CallbackRejected("请求内容有误：content 不是 JSON") from None
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise CallbackRejected(f"请求内容有误：{describe(exc)}") from None


# The card template's parameter that names the tapped button's command.
# Our templates (none yet: UNCONFIRMED until one is built in the card
# builder) put the neutral Button.key here.
CARD_KEY_PARAM = "key"


def card_event(data: Any, *, delivery_id: str, received_at: datetime) -> InboundEvent:
    """The neutral event for a card button callback.

    ``delivery_id`` is the Stream frame's message id: a redelivered frame
    repeats it, which is what dedupe keys on.  The other params (select and
    checkbox values) become ``selected``, in the card's order.
    """
    callback = CardCallback.from_data(data)
    private = callback.content.card_private_data
    params = dict(private.params)
    key = str(params.pop(CARD_KEY_PARAM, "") or (private.action_ids[0] if private.action_ids else ""))
    if not key:
        raise CallbackRejected("请求内容有误：卡片回调没有按钮 key")
    selected: list[str] = []
    for value in params.values():
        if isinstance(value, list):
            selected.extend(str(v) for v in value)
        elif value not in (None, ""):
            selected.append(str(value))
    return InboundEvent(
        platform=Platform.DINGTALK,
        user_id=callback.user_id,
        kind=EventKind.CARD_ACTION,
        message_id=delivery_id or f"card:{callback.user_id}:{callback.out_track_id}:{key}",
        received_at=received_at,
        action_key=key,
        selected=tuple(selected),
        card_id=callback.out_track_id or None,
    )
