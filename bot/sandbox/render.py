"""Neutral messages rendered for the sandbox page (JSON the page draws)."""

from __future__ import annotations

import base64
import mimetypes
from typing import Any

from bot.messages import Card, File, Image, Markdown, Message, Outbound, Text


def _data_url(filename: str, data: bytes) -> str:
    mime = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def render_message(message: Message) -> dict[str, Any]:
    if isinstance(message, Text):
        return {"kind": "text", "text": message.content}
    if isinstance(message, Markdown):
        return {"kind": "markdown", "text": message.content}
    if isinstance(message, Card):
        return {
            "kind": "card",
            "title": message.title,
            "description": message.description,
            "fields": [list(f) for f in message.fields],
            "lines": list(message.lines),
            "buttons": [{"text": b.text, "key": b.key, "style": b.style.value} for b in message.commands],
            "card_id": message.card_id,
        }
    if isinstance(message, Image):
        return {
            "kind": "image",
            "filename": message.filename,
            "url": _data_url(message.filename, message.data),
        }
    if isinstance(message, File):
        return {
            "kind": "file",
            "filename": message.filename,
            "url": _data_url(message.filename, message.data),
        }
    raise TypeError(f"unknown message kind: {type(message).__name__}")


def render(outbound: Outbound) -> dict[str, Any]:
    view = render_message(outbound.message)
    # A reply "in place" to a card click replaces that card on the page.
    if outbound.reply_token and outbound.reply_token.isdigit():
        view["replaces"] = int(outbound.reply_token)
    return view
