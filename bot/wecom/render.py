"""Neutral outbound messages → WeCom JSON payloads.

Card mapping (decided here, once):
- a Card with buttons → ``button_interaction``; up to 6 buttons as they are.
  With more than 6, the first 5 stay buttons and the rest are listed in the
  body as text commands (every button key is a command the handlers read as
  typed text), so nothing is unreachable.  ``vote_interaction`` would fit a
  pick-one list, but it needs a submit tap and hides the keys' meaning from
  a text reader; the neutral Card does not say when that trade is worth it.
- a Card without buttons → ``text_notice`` when a card URL is configured
  (WeCom requires a link on text_notice), otherwise app markdown.
- fields → horizontal rows (6 at most; the rest become body lines);
  description → main_title.desc; lines → sub_title_text.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from bot.messages import Button as NeutralButton
from bot.messages import ButtonStyle as NeutralStyle
from bot.messages import Card
from bot.wecom import cards
from bot.wecom import constants as c

_STYLE = {
    NeutralStyle.PRIMARY: cards.ButtonStyle.PRIMARY,
    NeutralStyle.DEFAULT: cards.ButtonStyle.DEFAULT,
    NeutralStyle.DANGER: cards.ButtonStyle.DANGER,
}
MORE_COMMANDS_PREFIX = "其余操作请直接回复："


def split_lines(text: str, max_bytes: int) -> list[str]:
    """Pack whole lines into chunks of at most ``max_bytes`` UTF-8 bytes.

    Chunks break only between lines.  The one exception is a single line
    longer than a whole chunk: it is cut at character boundaries, since it
    cannot be sent any other way.
    """
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        pieces = _cut_line(line, max_bytes)
        for piece in pieces:
            piece_size = len(piece.encode("utf-8"))
            extra = piece_size + (1 if current else 0)
            if current and size + extra > max_bytes:
                chunks.append("\n".join(current))
                current, size = [], 0
                extra = piece_size
            current.append(piece)
            size += extra
    if current:
        chunks.append("\n".join(current))
    return [chunk for chunk in chunks if chunk.strip()] or ([text] if text else [])


def _cut_line(line: str, max_bytes: int) -> list[str]:
    if len(line.encode("utf-8")) <= max_bytes:
        return [line]
    pieces: list[str] = []
    current = ""
    for char in line:
        if len((current + char).encode("utf-8")) > max_bytes:
            pieces.append(current)
            current = ""
        current += char
    pieces.append(current)
    return pieces


def task_id_for(card_id: str | None) -> str:
    """A valid WeCom task_id: the card's own id when it fits, else a stable digest of it."""
    if card_id is None:
        return uuid.uuid4().hex
    if card_id and set(card_id) <= c.CARD_TASK_ID_ALPHABET and len(card_id.encode("utf-8")) <= c.CARD_TASK_ID_MAX_BYTES:
        return card_id
    return "h-" + hashlib.sha256(card_id.encode("utf-8")).hexdigest()


def _body(card: Card, extra_fields: list[tuple[str, str]], more: list[NeutralButton]) -> str:
    lines = [f"{k}：{v}" for k, v in extra_fields] + list(card.lines)
    body = "\n".join(lines)
    if not more:
        return body
    # The command list must survive truncation: the body gives way first.
    hint = MORE_COMMANDS_PREFIX + "；".join(f"{b.text}（{b.key}）" for b in more)
    room = c.CARD_SUB_TITLE_MAX_CHARS - len(hint) - 1
    if room <= 1 or not body:
        return hint
    return cards.shorten(body, room) + "\n" + hint


def render_card(card: Card, *, card_url: str | None) -> cards.TemplateCard | None:
    """The template card for a neutral Card, or None when it must go as markdown."""
    rows = [cards.HorizontalContent(keyname=k, value=v) for k, v in card.fields]
    shown_rows = rows[: c.CARD_HORIZONTAL_MAX_ROWS]
    extra_fields = list(card.fields[c.CARD_HORIZONTAL_MAX_ROWS :])
    buttons = list(card.buttons)
    more: list[NeutralButton] = []
    if len(buttons) > c.CARD_MAX_BUTTONS:
        buttons, more = buttons[: c.CARD_MAX_BUTTONS - 1], buttons[c.CARD_MAX_BUTTONS - 1 :]
    body = _body(card, extra_fields, more)
    common: dict[str, Any] = {
        "main_title": cards.MainTitle(title=card.title, desc=card.description or None),
        "sub_title_text": body or None,
        "horizontal_content_list": shown_rows,
    }
    if buttons:
        return cards.ButtonInteractionCard(
            task_id=task_id_for(card.card_id),
            button_list=[cards.Button(text=b.text, key=b.key, style=_STYLE[b.style]) for b in buttons],
            **common,
        )
    if card_url:
        return cards.TextNoticeCard(
            card_action=cards.CardAction(url=card_url),
            task_id=task_id_for(card.card_id) if card.card_id else None,
            **common,
        )
    return None


def card_markdown(card: Card, *, with_commands: bool) -> str:
    """A card as markdown: for robots (no buttons in groups) and link-less app cards."""
    out = [f"**{card.title}**"]
    if card.description:
        out.append(f"> {card.description}")
    out.extend(f"{k}：{v}" for k, v in card.fields)
    out.extend(card.lines)
    if with_commands and card.buttons:
        out.append(MORE_COMMANDS_PREFIX.replace("其余", "可") + "；".join(f"{b.text}（{b.key}）" for b in card.buttons))
    return "\n".join(out)


def app_message(agent_id: int, to_user: str, msgtype: str, body: dict[str, Any]) -> dict[str, Any]:
    """The body of ``/cgi-bin/message/send`` for one member, duplicate check on."""
    return {
        "touser": to_user,
        "msgtype": msgtype,
        "agentid": agent_id,
        msgtype: body,
        "enable_duplicate_check": 1,
        "duplicate_check_interval": c.DUPLICATE_CHECK_INTERVAL_SECONDS,
    }
