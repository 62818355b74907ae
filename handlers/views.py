"""Messages the scoring conversation shows: the walk card, short lists, the help screen.

Pure builders: data in, neutral messages out, every button's key a typed command.
"""

from __future__ import annotations

from decimal import Decimal

from bot.messages import Button, ButtonStyle, Card, Message, Text
from scoring_core.assignments import Assignment
from scoring_core.directory import Role
from scoring_core.entries import ScoreEntry
from scoring_core.points import fmt

#: Quick values are steps below the max: the largest of these not above max/8.
_STEPS = (Decimal(5), Decimal(2), Decimal(1), Decimal("0.5"))
#: Longest seed wording shown on a card (the longest item text is ~200 characters).
MAX_WORDING = 120


def quick_values(maximum: Decimal) -> tuple[Decimal, ...]:
    """Two common values below the max: 4 → 3.5, 3; 8 → 7, 6; 40 → 35, 30."""
    step = next((s for s in _STEPS if s <= maximum / 8), _STEPS[-1])
    return tuple(v for v in (maximum - step, maximum - 2 * step) if v >= 0)


def walk_card(
    a: Assignment,
    position: int,
    wording: str,
    current: ScoreEntry | None,
    done: int,
    said: str = "",
) -> Card:
    """One unit of a part on a card: what is assessed, the max, where we are, what is recorded."""
    part = a.part
    unit = a.units[position]
    now = "未评" if current is None else fmt(current.value) + (f"（{current.note}）" if current.note else "")
    if len(wording) > MAX_WORDING:
        wording = wording[: MAX_WORDING - 1] + "…"
    at = f" @{unit}"  # the card's own unit: a tap on an outdated card is refused, not misapplied
    buttons = [
        Button(text=f"满分 {fmt(part.entry_max)}", key="满分" + at, style=ButtonStyle.PRIMARY),
        *(Button(text=fmt(v), key=fmt(v) + at) for v in quick_values(part.entry_max)),
        Button(text="跳过", key="跳过" + at),
        Button(text="上一个", key="上一个" + at),
        Button(text="退出", key="退出"),
    ]
    return Card(
        title=f"第{part.code}项 {part.title}（{position + 1}/{len(a.units)}）",
        description=wording,
        fields=(("单位", unit), ("满分", fmt(part.entry_max)), ("当前", now), ("已评", f"{done}/{len(a.units)}")),
        lines=tuple(line for line in (said, "低于满分请写理由，如“3.5 演练未按期”") if line),
        buttons=tuple(buttons),
        card_id=f"walk:{part.code}",
    )


def help_text(role: Role) -> Message:
    lines = ["【平安考评助手】"]
    if role in (Role.SCORER, Role.HEAD, Role.ADMIN):
        lines += [
            "任务：本部门的评分项",
            "评分 12：逐个单位评第12项（按钮或输入分数）",
            "  3.5 演练未按期：低于满分写理由；满分/跳过/上一个/退出",
            "12 全部满分：未评的单位都给满分，再改例外",
            "教育局 3.5 理由：直接评一个单位，可多行",
            "核对 12 / 提交 12 / 撤销 / 进度",
        ]
    if role is Role.ADMIN:
        lines += [
            "加分 市教育局 B1 2 理由；扣分 市房管局 D9 3 王某-案1 理由；否决 市医保局 V2 理由",
            "开启考核 12月20日（可加“提前3天”）/ 解锁 部门 12 / 关闭考核 / 发布排名 / 导出",
            "催办 / 提醒计划 / 暂停提醒 / 恢复提醒",
            "发送失败：没发出去的消息 / 重发 12",
        ]
    if role in (Role.LEADER, Role.ADMIN):
        lines += ["排名 / 明细 市教育局 / 进度"]
    if role in (Role.SCORER, Role.HEAD):
        lines += ["加减分（本部门负责的编号）：扣分 市城管局 D8 事故经过"]
    return Text(content="\n".join(lines))
