"""Neutral outbound messages → WeCom JSON payloads.

Card mapping (decided here, once):
- a Card with buttons → ``button_interaction``; up to 6 buttons as they are.
  With more than 6, the first 5 stay buttons and the rest are listed in the
  body as text commands (every button key is a command the handlers read as
  typed text), so nothing is unreachable.
- a Card's ``options`` (a pick-one list) are buttons too while everything fits
  six; past that they become a ``vote_interaction`` (a radio list of up to 20
  and a submit button, whose click the event parser turns into the chosen
  option's command); the rest, and the card's buttons, are listed as text
  commands.  One tap beats two, so a short list stays buttons.
- a Card without buttons → ``text_notice`` when a card URL is configured
  (WeCom requires a link on text_notice), otherwise app markdown.
- fields → horizontal rows (6 at most; the rest, and any row whose name or
  value would be cut, become body lines); description → main_title.desc,
  or the body's first line when it would be cut there; lines → sub_title_text.
- A card whose body does not fit sub_title_text (about 112 characters: a
  review page, a long task list) goes as app markdown with every button
  listed as a text command: WeCom would cut the body short, and a scorer
  must see every line (the title is still shortened, it is only a heading).
- Markdown is WeCom's ``markdown`` subset (headings, bold, links, inline
  code, quotes, colours), which has no lists: a ranking line "1. 市委组织部 4"
  shows as typed, ties included, so it is left alone.  DingTalk's markdown
  does read it as a list (``bot/dingtalk/render.py`` rewrites it); so would
  WeCom's ``markdown_v2``, which is not used.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from bot.messages import Button as NeutralButton
from bot.messages import ButtonStyle as NeutralStyle
from bot.messages import Card, Option
from bot.textsplit import split_lines
from bot.wecom import cards
from bot.wecom import constants as c

_STYLE = {
    NeutralStyle.PRIMARY: cards.ButtonStyle.PRIMARY,
    NeutralStyle.DEFAULT: cards.ButtonStyle.DEFAULT,
    NeutralStyle.DANGER: cards.ButtonStyle.DANGER,
}
MORE_COMMANDS_PREFIX = "其余操作请直接回复："

__all__ = ["MORE_COMMANDS_PREFIX", "app_message", "card_markdown", "render_card", "split_lines", "task_id_for"]


#: Bytes of a task_id kept for the card's own id; the rest is the per-send suffix.
_TASK_PREFIX_BYTES = c.CARD_TASK_ID_MAX_BYTES - 34


def task_id_for(card_id: str | None) -> str:
    """A fresh, valid WeCom task_id for one send of the card.

    WeCom wants a task_id unique per app, so every send gets its own (the
    walk sends one card id many times).  The card's id leads it, readable in
    logs, or a digest where the id is too long or has other characters.
    """
    suffix = uuid.uuid4().hex
    if card_id is None:
        return suffix
    fits = set(card_id) <= c.CARD_TASK_ID_ALPHABET and len(card_id.encode("utf-8")) <= _TASK_PREFIX_BYTES
    prefix = card_id if fits else "h" + hashlib.sha256(card_id.encode("utf-8")).hexdigest()[:32]
    return f"{prefix}-{suffix}"


def _body(lines: list[str], more: list[NeutralButton]) -> str | None:
    """sub_title_text: the lines, then the commands beyond the buttons; None when it does not fit."""
    if more:
        lines = [*lines, MORE_COMMANDS_PREFIX + "；".join(f"{b.text}（{b.key}）" for b in more)]
    body = "\n".join(lines)
    return body if len(body) <= c.CARD_SUB_TITLE_MAX_CHARS else None


def _fits_row(name: str, value: str) -> bool:
    return len(name) <= c.CARD_KEYNAME_MAX_CHARS and len(value) <= c.CARD_VALUE_MAX_CHARS


def render_card(card: Card, *, card_url: str | None) -> cards.TemplateCard | None:
    """The template card for a neutral Card, or None when it must go as markdown."""
    fitting = [(k, v) for k, v in card.fields if _fits_row(k, v)][: c.CARD_HORIZONTAL_MAX_ROWS]
    rows = [cards.HorizontalContent(keyname=k, value=v) for k, v in fitting]
    lines = [f"{k}：{v}" for k, v in card.fields if (k, v) not in fitting]
    desc: str | None = card.description or None
    if desc is not None and len(desc) > c.CARD_DESC_MAX_CHARS:
        lines, desc = [desc, *lines], None
    lines += card.lines
    listed: list[Option] = []
    more: list[NeutralButton] = []
    if len(card.options) > 1 and len(card.commands) > c.CARD_MAX_BUTTONS:
        # A pick-one list that does not fit as buttons: a vote card (radio list + submit);
        # what it cannot hold, and the card's buttons, are listed as text commands.
        listed = list(card.options[: c.CARD_VOTE_MAX_OPTIONS])
        buttons = []
        more = [*(NeutralButton(text=o.text, key=o.id) for o in card.options[len(listed) :]), *card.buttons]
    else:
        buttons = list(card.commands)
        if len(buttons) > c.CARD_MAX_BUTTONS:
            buttons, more = buttons[: c.CARD_MAX_BUTTONS - 1], buttons[c.CARD_MAX_BUTTONS - 1 :]
    body = _body(lines, more)
    if body is None or len(card.title) > c.CARD_TITLE_MAX_CHARS:
        return None  # it does not fit a template card whole: markdown shows all of it
    common: dict[str, Any] = {
        "main_title": cards.MainTitle(title=card.title, desc=desc),
        "sub_title_text": body or None,
        "horizontal_content_list": rows,
    }
    if listed:
        return cards.VoteInteractionCard(
            task_id=task_id_for(card.card_id),
            checkbox=cards.Checkbox(
                question_key=c.CHOICE_QUESTION_KEY,
                option_list=[cards.CheckboxOption(id=o.id, text=o.text) for o in listed],
                mode=0,
            ),
            submit_button=cards.SubmitButton(text="确定", key=c.CHOICE_SUBMIT_KEY),
            **common,
        )
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
    if with_commands and card.commands:
        listed = "；".join(f"{b.text}（{b.key}）" for b in card.commands)
        out.append(MORE_COMMANDS_PREFIX.replace("其余", "可") + listed)
    return "\n".join(out)


def app_message(
    agent_id: int, to_user: str, msgtype: str, body: dict[str, Any], *, duplicate_check: bool = False
) -> dict[str, Any]:
    """The body of ``/cgi-bin/message/send`` for one member.

    WeCom drops a request identical to one sent within the interval when the
    check is on, so it is on only for a resend that may have arrived already:
    on every send it would swallow a second, equal answer (two 帮助 in a row).
    """
    message: dict[str, Any] = {"touser": to_user, "msgtype": msgtype, "agentid": agent_id, msgtype: body}
    if duplicate_check:
        message["enable_duplicate_check"] = 1
        message["duplicate_check_interval"] = c.DUPLICATE_CHECK_INTERVAL_SECONDS
    return message
