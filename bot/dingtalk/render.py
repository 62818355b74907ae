"""Neutral outbound messages → DingTalk robot payloads.

Card mapping (decided here, once):
- DingTalk robots have no buttons that call the bot back without a card
  template made in the card builder (interactive cards are not used), so
  a Card becomes an action card whose buttons are
  ``dtmd://dingtalkclient/sendMessage`` links: a tap sends the button's key
  into the chat as if the scorer typed it, and every key is a text command
  the handlers read.  The body lists every command too, each a markdown
  link of the same form whose text shows the command ("满分 2（满分）"), so
  a client whose action card buttons do not follow such links can tap the
  body's, and one that follows neither (UNCONFIRMED on every client) gives
  the same experience by typing what the link shows.
- Up to ``APP_CARD_MAX_BUTTONS`` buttons show; the rest are in the list only.
- In groups a tap would send the text without @-ing the robot, which then
  never sees it: group cards are markdown and list the commands as plain
  text saying to @ it; a custom robot (send-only) lists nothing.
- Text and markdown over the size limit are split between lines; a long
  card's buttons and command list go on its last part.
- In markdown, a line starting "1. " is written "1．" so ranking lines
  stay lines, ties included, instead of a list DingTalk numbers itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import quote

from bot.dingtalk import constants as c
from bot.messages import Button, Card, Markdown, Text
from bot.textsplit import split_lines

COMMANDS_PREFIX = "可直接回复："
GROUP_COMMANDS_PREFIX = "可 @我 并回复："


class Audience(StrEnum):
    MEMBER = "member"  # one-to-one with the app robot: link buttons work
    GROUP = "group"  # a group with the app robot: it hears @-messages only
    WEBHOOK = "webhook"  # a custom robot's group: send-only


@dataclass(frozen=True, slots=True)
class Part:
    """One DingTalk message, before it is put in a wire's envelope."""

    kind: Literal["text", "markdown", "card"]
    text: str
    title: str = ""
    buttons: tuple[tuple[str, str], ...] = ()  # (title, url)


def send_message_link(command: str) -> str:
    """The link that sends ``command`` back into the chat as the user (UNCONFIRMED on every client).

    The one encoding of a command for both the action card's buttons and the body's links.
    """
    return c.SEND_MESSAGE_LINK.format(content=quote(command, safe=""))


def listed(button: Button) -> str:
    """A command as the body lists it: its text and, in brackets, what to type."""
    return f"{button.text}（{button.key}）"


def command_link(button: Button) -> str:
    """A command as a markdown link that sends it: ``[满分 2（满分）](dtmd://…content=%E6%BB%A1%E5%88%86)``.

    Square brackets in the shown text would end the link early: they show full-width.
    """
    label = listed(button).replace("[", "［").replace("]", "］")
    return f"[{label}]({send_message_link(button.key)})"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_MARKUP = re.compile(r"^[#>\s*-]+|\*\*|__")


def title_of(content: str) -> str:
    """A markdown message's title (shown in the chat list): its first non-empty line, plain."""
    for line in content.splitlines():
        plain = _MARKUP.sub("", line).strip()
        if plain:
            return _clip(plain, c.CARD_TITLE_MAX_CHARS)
    return "消息"


# A line "1. 市委组织部 4" starts an ordered list in DingTalk markdown, and a
# list numbers its items itself: tied ranks 1, 1, 3 read 1, 2, 3.  The
# number keeps a full-width stop instead, which no markdown reads as a list
# (a backslash escape, "1\.", is UNCONFIRMED on DingTalk's renderer and
# would show as typed where it is not understood).
LIST_NUMBER_STOP = "．"
_LIST_NUMBER = re.compile(r"^( {0,3}\d{1,9})\.(?:[ \t]+|$)")


def not_a_list_item(line: str) -> str:
    """``line`` with a leading "N. " written "N．", so markdown leaves it a paragraph."""
    return _LIST_NUMBER.sub(r"\g<1>" + LIST_NUMBER_STOP, line)


def paragraphs(content: str) -> str:
    """One line per paragraph: DingTalk markdown joins single-newline lines (UNCONFIRMED on PC).

    A line that would start a numbered list item is kept a paragraph (``not_a_list_item``).
    """
    return "\n\n".join(not_a_list_item(line) for line in content.split("\n") if line.strip())


def command_list(buttons: tuple[Button, ...], audience: Audience) -> str:
    """Every command of a card, one line: links one-to-one, plain text in a group, none for a custom robot."""
    if not buttons or audience is Audience.WEBHOOK:
        return ""
    if audience is Audience.GROUP:
        return GROUP_COMMANDS_PREFIX + "；".join(listed(b) for b in buttons)
    return COMMANDS_PREFIX + "；".join(command_link(b) for b in buttons)


def card_markdown(card: Card, audience: Audience) -> str:
    out = [f"#### **{card.title}**"]
    if card.description:
        out.append(f"> {card.description}")
    out.extend(f"{k}：{v}" for k, v in card.fields)
    out.extend(card.lines)
    commands = command_list(card.commands, audience)
    if commands:
        out.append(commands)
    return paragraphs("\n".join(out))


def render(message: Text | Markdown | Card, audience: Audience) -> list[Part]:
    if isinstance(message, Text):
        return [Part("text", part) for part in split_lines(message.content, c.TEXT_MAX_BYTES)]
    if isinstance(message, Markdown):
        title = title_of(message.content)
        chunks = split_lines(paragraphs(message.content), c.MARKDOWN_MAX_BYTES)
        return [Part("markdown", chunk, title) for chunk in chunks]
    title = _clip(message.title, c.CARD_TITLE_MAX_CHARS)
    chunks = split_lines(card_markdown(message, audience), c.MARKDOWN_MAX_BYTES)
    parts = [Part("markdown", chunk, title) for chunk in chunks]
    if audience is Audience.MEMBER and message.commands and parts:
        buttons = tuple(
            (_clip(b.text, c.BUTTON_TITLE_MAX_CHARS), send_message_link(b.key))
            for b in message.commands[: c.APP_CARD_MAX_BUTTONS]
        )
        parts[-1] = Part("card", parts[-1].text, title, buttons)
    return parts


def app_message(part: Part) -> tuple[str, dict[str, Any]]:
    """(msgKey, msgParam) for the robot API (batchSend, groupMessages/send)."""
    if part.kind == "text":
        return c.MSGKEY_TEXT, {"content": part.text}
    if part.kind == "markdown" or not part.buttons:
        return c.MSGKEY_MARKDOWN, {"title": part.title, "text": part.text}
    if len(part.buttons) == 1:
        [(label, url)] = part.buttons
        return c.MSGKEY_ACTION_CARD, {"title": part.title, "text": part.text, "singleTitle": label, "singleURL": url}
    param: dict[str, Any] = {"title": part.title, "text": part.text}
    for i, (label, url) in enumerate(part.buttons, start=1):
        param[f"actionTitle{i}"] = label
        param[f"actionURL{i}"] = url
    return c.MSGKEY_ACTION_CARD_N.format(n=len(part.buttons)), param


def webhook_message(part: Part) -> dict[str, Any]:
    """The body for a custom robot webhook or a session webhook."""
    if part.kind == "text":
        return {"msgtype": "text", "text": {"content": part.text}}
    if part.kind == "markdown" or not part.buttons:
        return {"msgtype": "markdown", "markdown": {"title": part.title, "text": part.text}}
    buttons = part.buttons[: c.WEBHOOK_CARD_MAX_BUTTONS]
    card: dict[str, Any] = {"title": part.title, "text": part.text}
    if len(buttons) == 1:
        card["singleTitle"], card["singleURL"] = buttons[0]
    else:
        card["btnOrientation"] = "0"
        card["btns"] = [{"title": label, "actionURL": url} for label, url in buttons]
    return {"msgtype": "actionCard", "actionCard": card}
