"""Decrypted WeCom callback XML → the neutral ``InboundEvent``.

Read straight from the XML: wechatpy parses ``template_card_event`` as an
``UnknownMessage``, returns ``SelectedItem`` as a dict or a list depending
on the count, and raises on string MsgIds.  ``findall`` has none of that.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Final

from bot.events import EventKind, InboundEvent, Platform
from bot.wecom.constants import CHOICE_SUBMIT_KEY
from bot.wecom.errors import CallbackRejected

log = logging.getLogger(__name__)

MSG_TEXT: Final = "text"
MSG_EVENT: Final = "event"
EVENT_TEMPLATE_CARD: Final = "template_card_event"


def _text(root: ET.Element, tag: str) -> str:
    node = root.find(tag)
    return (node.text or "").strip() if node is not None else ""


def _created(root: ET.Element) -> tuple[str, datetime]:
    raw = _text(root, "CreateTime")
    try:
        return raw, datetime.fromtimestamp(int(raw), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise CallbackRejected("bad CreateTime") from None


def selected_options(root: ET.Element) -> tuple[str, ...]:
    """Every chosen option id of a vote or select card, in card order.

    Our cards use option ids unique across a card's questions, so the flat
    tuple is unambiguous; the question key is not needed.
    """
    return tuple(
        (node.text or "").strip()
        for node in root.iterfind("SelectedItems/SelectedItem/OptionIds/OptionId")
        if (node.text or "").strip()
    )


def to_event(root: ET.Element) -> InboundEvent | None:
    """The neutral event for a text message or a card click; None for anything else."""
    msg_type = _text(root, "MsgType")
    user_id = _text(root, "FromUserName")
    if not user_id:
        raise CallbackRejected("no FromUserName")

    if msg_type == MSG_TEXT:
        msg_id = _text(root, "MsgId")
        if not msg_id:
            raise CallbackRejected("text message without MsgId")
        _, created = _created(root)
        return InboundEvent(
            platform=Platform.WECOM,
            user_id=user_id,
            kind=EventKind.TEXT,
            message_id=msg_id,  # text: may be "CAIQg/PKxgYY…=="
            received_at=created,
            text=_text(root, "Content"),
        )

    if msg_type == MSG_EVENT and _text(root, "Event") == EVENT_TEMPLATE_CARD:
        raw_created, created = _created(root)
        key = _text(root, "EventKey")
        response_code = _text(root, "ResponseCode")
        # Events carry no MsgId: WeCom's retries repeat these fields.  A click's
        # ResponseCode is its own (each click brings a fresh one), so two taps of
        # one button within a second (CreateTime's grain) are two clicks.
        click = f":{response_code}" if response_code else ""
        chosen = selected_options(root)
        if key == CHOICE_SUBMIT_KEY and chosen:
            # A vote card's submit: the chosen option's id is the command it stands for.
            key = chosen[0]
        return InboundEvent(
            platform=Platform.WECOM,
            user_id=user_id,
            kind=EventKind.CARD_ACTION,
            message_id=f"{user_id}:{raw_created}:{key}{click}",
            received_at=created,
            action_key=key,
            selected=selected_options(root),
            card_id=_text(root, "TaskId") or None,
            reply_token=response_code or None,
        )

    log.debug("wecom callback ignored: MsgType=%s Event=%s", msg_type, _text(root, "Event"))
    return None
