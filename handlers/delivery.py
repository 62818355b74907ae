"""发送失败 and 重发 (admins): the messages the outbox gave up on, and sending them again.

The outbox retries a send on its own; what it gives up on (a recipient the
app may not reach, a robot key revoked, a file too big) lands here, so an
admin sees it instead of a scorer silently missing a reminder.
"""

from __future__ import annotations

import re

from bot.events import Platform
from bot.messages import Button, ButtonStyle, Card, TargetKind
from handlers.base import Context
from handlers.commands import FailedSends, Resend
from handlers.common import Caller, directory_of, local, page_of, text
from storage import outbox
from storage.models.messaging import OutboxRow

#: How many failed messages the list reads (newest first); older ones are rare and
#: still counted in the title.
LIST_LIMIT = 200

# str(PlatformError): "wecom errcode=81013 errmsg=…: 接收人无效"
_PLATFORM_ERROR = re.compile(r"^(\w+) errcode=(\S+) errmsg=.*?: (.+)$", re.DOTALL)
_KIND_ZH = {"text": "文字", "markdown": "文字", "card": "卡片", "image": "图片", "file": "文件"}
_PLATFORM_ZH = {Platform.WECOM.value: "企业微信", Platform.DINGTALK.value: "钉钉", Platform.SANDBOX.value: "沙盒"}


def why(last_error: str | None) -> str:
    """The platform's refusal as an admin reads it: its Chinese message and error code."""
    if not last_error:
        return "原因未记录"
    found = _PLATFORM_ERROR.match(last_error)
    if found is None:
        return last_error[:60]
    platform, errcode, message = found.groups()
    return f"{message.strip()[:50]}（{_PLATFORM_ZH.get(platform, platform)} {errcode}）"


def _recipient(ctx: Context, row: OutboxRow) -> str:
    if row.target_kind == TargetKind.GROUP.value:
        return f"群 {row.target_id}"
    member = directory_of(ctx).member(row.target_platform, row.target_id)
    return f"{member.name}（{member.department}）" if member else row.target_id


def _what(row: OutboxRow) -> str:
    try:
        message = outbox.decode(row).message
    except ValueError:
        return "无法读取的消息"
    words = getattr(message, "content", None) or getattr(message, "title", None) or getattr(message, "filename", "")
    first = " ".join(str(words).split())[:16]
    return f"{_KIND_ZH.get(message.kind, message.kind)}“{first}”"


async def failed_sends(ctx: Context, caller: Caller, cmd: FailedSends) -> None:
    total = await outbox.count_failed(ctx.session)
    if total == 0:
        await ctx.reply(text("没有发送失败的消息。"))
        return
    rows = await outbox.failed(ctx.session, limit=LIST_LIMIT)
    lines = [f"#{r.id} {local(r.created_at)} → {_recipient(ctx, r)}：{_what(r)}，{why(r.last_error)}" for r in rows]
    page = page_of(lines, cmd.page, "发送失败", per_page=6)
    buttons = [Button(text="全部重发", key="重发全部", style=ButtonStyle.PRIMARY)]
    if page.next_button:
        buttons.append(page.next_button)
    await ctx.reply(
        Card(
            title=f"发送失败的消息（{total} 条）",
            description="处理原因后（如核对名录中的账号）可重发：发“重发 编号”或“重发全部”",
            lines=(*page.lines, page.footer) if page.footer else page.lines,
            buttons=tuple(buttons),
        )
    )


async def resend(ctx: Context, caller: Caller, cmd: Resend) -> None:
    ids = None if cmd.row_ids is None else list(cmd.row_ids)
    count = await outbox.retry_failed(ctx.session, ctx.now, ids)
    if count == 0:
        named = "" if ids is None else "：" + "、".join(f"#{i}" for i in ids) + " 不是发送失败的消息"
        await ctx.reply(text(f"没有可重发的消息{named}。发“发送失败”查看。"))
        return
    await ctx.reply(text(f"已重新排队发送 {count} 条消息；仍失败的会再次出现在“发送失败”中。"))
