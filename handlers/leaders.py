"""What leaders (and admins) read: the ranking, a unit's breakdown, every department's progress."""

from __future__ import annotations

from collections import Counter

from bot.messages import Card
from handlers.base import Context
from handlers.commands import Detail, Progress, Ranking
from handlers.common import Caller, directory_of, exact_name, latest_round, page_of, scheme_of
from schedules.content import published_incomplete
from scoring_core.names import unit_index
from scoring_core.points import fmt
from scoring_core.results import Standing
from scoring_core.scheme import AdjustmentKind
from storage.models.scoring import RoundStatus
from storage.scoring import RoundInfo, load_standing, part_status


def _state(info: RoundInfo, standing: Standing) -> str:
    if info.status is RoundStatus.PUBLISHED and not standing.complete:
        return f"排名已发布：{published_incomplete(len(standing.missing))}"
    if info.status is RoundStatus.PUBLISHED:
        return "正式排名（已发布）"
    if standing.complete:
        return "评分已齐全（尚未发布）"
    return f"暂定排名：尚缺 {len(standing.missing)} 条评分，按 0 分计"


async def ranking(ctx: Context, caller: Caller, cmd: Ranking) -> None:
    info = await latest_round(ctx.session)
    standing = await load_standing(ctx.session, info.id, scheme_of(ctx), directory_of(ctx))
    rows = [
        f"{r.rank}. {r.unit} {fmt(r.total)}"
        + ("（否决）" if r.vetoed else f"（缺{len(r.missing)}）" if r.missing else "")
        for r in standing.results
    ]
    page = page_of(rows, cmd.page, "排名")
    await ctx.reply(
        Card(
            title=f"{info.name} 排名",
            description=_state(info, standing),
            lines=(*page.lines, page.footer) if page.footer else page.lines,
            buttons=(page.next_button,) if page.next_button else (),
        )
    )


async def detail(ctx: Context, caller: Caller, cmd: Detail) -> None:
    info = await latest_round(ctx.session)
    unit = exact_name(unit_index(directory_of(ctx)), cmd.unit, "被考核单位")
    standing = await load_standing(ctx.session, info.id, scheme_of(ctx), directory_of(ctx))
    r = standing.result(unit)
    rows = []
    for p in r.parts:
        who = "；".join(
            f"{s.scorer} {'未评' if s.value is None else fmt(s.value)}" + (f"（{s.note}）" if s.note else "")
            for s in p.scores
        )
        rows.append(f"{p.code} {fmt(p.score)}/{fmt(p.max)}：{who}")
    for a in r.adjustments:
        if a.kind is AdjustmentKind.VETO:
            rows.append(f"{a.code} 否决：{a.reason}（{a.recorder}）")
            continue
        sign = "+" if a.kind is AdjustmentKind.BONUS else "-"
        raw = fmt(a.raw) if a.raw is not None else "0"
        case = f" {a.case}" if a.case else ""
        why = f"，{a.why}" if a.why else ""
        rows.append(f"{a.code}{case} {sign}{raw} 计{sign}{fmt(a.counted)}（{a.recorder}：{a.reason}{why}）")
    page = page_of(rows, cmd.page, f"明细 {unit}")
    summary = (
        f"第{r.rank}名 总分 {fmt(r.total)} = 项目 {fmt(r.parts_total)} + 加分 {fmt(r.bonus)} - 扣分 {fmt(r.deduction)}"
    )
    if r.vetoed:
        summary += "（否决）"
    await ctx.reply(
        Card(
            title=f"{unit} 得分明细",
            description=summary + ("" if standing.complete else f"；{_state(info, standing)}"),
            lines=(*page.lines, page.footer) if page.footer else page.lines,
            buttons=(page.next_button,) if page.next_button else (),
        )
    )


async def all_progress(ctx: Context, caller: Caller, cmd: Progress) -> None:
    """Every scoring department: scores entered / expected, parts submitted."""
    info = await latest_round(ctx.session)
    standing = await load_standing(ctx.session, info.id, scheme_of(ctx), directory_of(ctx))
    expected: Counter[str] = Counter()
    parts: dict[str, set[str]] = {}
    for r in standing.results:
        for p in r.parts:
            for s in p.scores:
                expected[s.scorer] += 1
                parts.setdefault(s.scorer, set()).add(p.code)
    missing = Counter(m.scorer for m in standing.missing)
    rows = []
    for dept in sorted(expected, key=lambda d: (-(missing[d] / expected[d]), d)):
        submitted = 0
        for code in parts[dept]:
            if (await part_status(ctx.session, info.id, dept, code, ctx.now)).submitted:
                submitted += 1
        done = expected[dept] - missing[dept]
        rows.append(f"{dept} {done}/{expected[dept]}，提交 {submitted}/{len(parts[dept])}")
    page = page_of(rows, cmd.page, "进度")
    total = sum(expected.values())
    await ctx.reply(
        Card(
            title=f"{info.name} 各部门进度",
            description=f"共 {total - len(standing.missing)}/{total} 条评分（进度慢的在前）",
            lines=(*page.lines, page.footer) if page.footer else page.lines,
            buttons=(page.next_button,) if page.next_button else (),
        )
    )
