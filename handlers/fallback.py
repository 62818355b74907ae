"""The stand-in handler until the scoring conversation lands: says what works so far."""

from __future__ import annotations

from bot.events import EventKind
from bot.messages import Card, Text
from handlers.base import Context

HELP = Card(
    title="平安考评助手",
    description="评分功能尚未开放",
    lines=(
        "考评方案和名录接入后，即可在这里评分、查看进度和排名。",
        "现在可以试试：发送“帮助”。",
    ),
)


async def fallback(ctx: Context) -> None:
    event = ctx.event
    if event.kind is EventKind.TEXT and event.text.strip() in {"帮助", "help", "?", "？"}:
        await ctx.reply(HELP)
    elif event.kind is EventKind.CARD_ACTION:
        await ctx.reply(Text(content=f"已收到按钮“{event.action_key}”，评分功能尚未开放。"))
    else:
        said = event.text.strip() or event.file_name or ""
        await ctx.reply(Text(content=f"收到：{said}\n评分功能尚未开放，发送“帮助”查看说明。"))
