"""What scheduled sends say: round notices, reminders, leaders' digests, ranking pushes.

Pure functions of small frozen inputs, so the texts are tested literally and
do not depend on storage.  User-facing text is Simplified Chinese and sized
for a phone.  Reminder texts carry the date, the send time and exactly what
is left, so no two sends to one person are identical: DingTalk delivers the
same content to a person only once a day.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal

from bot.messages import Button, ButtonStyle, Card, Markdown
from schedules.timing import TZ, ReminderPolicy, Stage
from scoring_core.points import fmt

#: The text command behind 开始评分 / 继续评分: lists the scorer's open tasks.
TASKS_COMMAND = "任务"
#: The text command behind 稍后提醒: snoozes this scorer's reminders.
SNOOZE_COMMAND = "稍后提醒"

#: WeCom group robot markdown limit, in UTF-8 bytes.
GROUP_MARKDOWN_LIMIT = 4096
#: Provisional top 5 appear in the digest once this share of the round is scored.
TOP_SHOWN_FROM = Decimal("0.8")

TOP_N = 10
BOTTOM_N = 5
DIGEST_TOP_N = 5

_WEEKDAYS = "一二三四五六日"


# --- inputs ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoundInfo:
    """The round as texts need it."""

    id: str
    title: str  # e.g. "2020年度平安建设考评"
    deadline: datetime  # the round's default deadline; departments may have their own


@dataclass(frozen=True, slots=True)
class PartCount:
    """One part and how many units it concerns (to score, or still left)."""

    code: str
    title: str
    units: int


@dataclass(frozen=True, slots=True)
class DepartmentProgress:
    """A department's work in a round: done of total tasks, and what is left.

    A task is one (unit, part) the department scores.  ``left`` lists the
    parts with unscored units, in scheme order.
    """

    department: str
    deadline: datetime
    total: int
    done: int
    left: tuple[PartCount, ...] = ()

    @property
    def finished(self) -> bool:
        return self.done >= self.total

    @property
    def remaining(self) -> int:
        return max(self.total - self.done, 0)

    def late(self, now: datetime) -> bool:
        return not self.finished and now > self.deadline


@dataclass(frozen=True, slots=True)
class RankRow:
    """One unit of a ranking."""

    rank: int
    unit: str
    total: Decimal
    vetoed: bool = False
    veto_reasons: tuple[str, ...] = ()


# --- formatting helpers ---------------------------------------------------------


def fmt_day(dt: datetime) -> str:
    """``10月9日（周五）`` in Shanghai time."""
    local = dt.astimezone(TZ)
    return f"{local.month}月{local.day}日（周{_WEEKDAYS[local.weekday()]}）"


def fmt_deadline(dt: datetime) -> str:
    """``10月9日（周五）17:00``; the end of a day reads ``24:00``, as notices write it."""
    local = dt.astimezone(TZ)
    if local.time() >= time(23, 59):
        return f"{fmt_day(local)}24:00"
    return f"{fmt_day(local)}{local:%H:%M}"


def fmt_minute(dt: datetime) -> str:
    """``10月9日 14:00``: when a send is (nominally) made."""
    local = dt.astimezone(TZ)
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def fmt_percent(done: int, total: int) -> str:
    """Whole percent, rounded down so 99.9% never shows as 100%."""
    if total <= 0:
        return "100%"
    return f"{done * 100 // total}%"


def part_label(code: str, title: str) -> str:
    return f"第{code}项 {title}" if title else f"第{code}项"


def card_id(*parts: str) -> str:
    """A platform-safe card id (WeCom task_id allows only ``[A-Za-z0-9_@-]``, ≤ 128 bytes)."""
    return "sb-" + hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


# --- round opened ---------------------------------------------------------------


def round_opened_card(
    round_: RoundInfo, department: str, parts: Sequence[PartCount], units: int, deadline: datetime
) -> Card:
    """The notice every member of a department gets when a round opens.

    ``units`` counts distinct units the department scores (parts may apply
    to different units); ``parts`` lists each part with its unit count.
    """
    tasks = sum(p.units for p in parts)
    return Card(
        title=f"{round_.title}：评分开始",
        description=f"请{department}于{fmt_deadline(deadline)}前完成评分。",
        fields=(
            ("评分项目", f"{len(parts)} 项"),
            ("被考核单位", f"{units} 个"),
            ("评分任务", f"{tasks} 条"),
            ("截止时间", fmt_deadline(deadline)),
        ),
        lines=tuple(f"{part_label(p.code, p.title)}：{p.units} 个单位" for p in parts),
        buttons=(Button(text="开始评分", key=TASKS_COMMAND, style=ButtonStyle.PRIMARY),),
        card_id=card_id(round_.id, "open", department),
    )


# --- reminders ------------------------------------------------------------------


def reminder_title(stage: Stage, deadline: datetime, at: datetime) -> str:
    """The reminder's headline; it follows the stage and counts days."""
    days = (deadline.astimezone(TZ).date() - at.astimezone(TZ).date()).days
    if stage is Stage.BEFORE:
        return f"评分提醒：距截止还有 {days} 天"
    if stage is Stage.LAST_DAY:
        return "评分明天截止" if days == 1 else f"评分{fmt_day(deadline)}截止"
    if stage is Stage.DEADLINE_DAY:
        return f"评分今天{_clock(deadline)}截止"
    return f"评分已逾期 {-days} 天"


def _clock(deadline: datetime) -> str:
    local = deadline.astimezone(TZ)
    return "24:00" if local.time() >= time(23, 59) else f"{local:%H:%M}"


def reminder_card(
    round_: RoundInfo, progress: DepartmentProgress, stage: Stage, at: datetime, *, to_head: bool = False
) -> Card:
    """A reminder to one department's members (or its head): exactly what is left.

    ``at`` is the slot's nominal time; it is printed ("截至10月16日 14:00"),
    so the 09:30 and 14:00 reminders of one day differ even when nothing
    was scored in between.
    """
    left_units = sum(p.units for p in progress.left)
    who = f"{progress.department}负责人" if to_head else progress.department
    as_of = f"截至{fmt_minute(at)}尚有 {progress.remaining} 条评分未完成"
    if stage is Stage.OVERDUE:
        description = f"{who}：截止时间{fmt_deadline(progress.deadline)}已过，{as_of}，请尽快补评。"
    else:
        description = f"{who}：{as_of}，请在{fmt_deadline(progress.deadline)}前完成。"
    lines = [f"{part_label(p.code, p.title)}：还差 {p.units} 个单位" for p in progress.left]
    if left_units != progress.remaining:
        # Joint parts count one task per unit; the part list is by units, so say both.
        lines.append(f"合计 {progress.remaining} 条")
    if to_head:
        lines.append("本部门评分已逾期，此提醒同时发给部门负责人。")
    return Card(
        title=reminder_title(stage, progress.deadline, at),
        description=description,
        fields=(
            ("考评", round_.title),
            ("已完成", f"{progress.done}/{progress.total}（{fmt_percent(progress.done, progress.total)}）"),
        ),
        lines=tuple(lines),
        buttons=(
            Button(text="继续评分", key=TASKS_COMMAND, style=ButtonStyle.PRIMARY),
            Button(text="稍后提醒", key=SNOOZE_COMMAND),
        ),
        card_id=card_id(round_.id, "remind", progress.department, at.isoformat(), "head" if to_head else ""),
    )


# --- leaders' digest ------------------------------------------------------------


def digest_markdown(
    round_: RoundInfo,
    progress: Sequence[DepartmentProgress],
    at: datetime,
    top: Sequence[RankRow] = (),
    *,
    limit: int = GROUP_MARKDOWN_LIMIT,
) -> tuple[Markdown, ...]:
    """The leaders' daily digest, split to the group robot's size limit.

    Completion overall and per unfinished department (least done first),
    late departments named, finished ones summed up, and the provisional
    top 5 once ``TOP_SHOWN_FROM`` of the round's tasks are scored.
    """
    total = sum(p.total for p in progress)
    done = sum(min(p.done, p.total) for p in progress)
    late = [p for p in progress if p.late(at)]
    open_ = sorted((p for p in progress if not p.finished and not p.late(at)), key=_least_done_first)
    finished = [p for p in progress if p.finished]

    lines = [
        f"### {round_.title}：评分进度",
        f"{fmt_minute(at)} · 截止{fmt_deadline(round_.deadline)}",
        f"总体完成 **{fmt_percent(done, total)}**（{done}/{total} 条），已完成部门 {len(finished)}/{len(progress)} 个",
    ]
    if late:
        lines += ["", f"**已逾期未完成（{len(late)} 个部门）**"]
        lines += [_progress_line(p) for p in sorted(late, key=_least_done_first)]
    if open_:
        lines += ["", f"**进行中（{len(open_)} 个部门）**"]
        lines += [_progress_line(p) for p in open_]
    if shows_top(progress, top):
        lines += ["", "**暂定前五名**（评分未齐，仅供参考）" if done < total else "**前五名**"]
        lines += [f"{r.rank}. {r.unit} {fmt(r.total)}" for r in top[:DIGEST_TOP_N]]
    return tuple(Markdown(content=page) for page in split_markdown("\n".join(lines), limit))


def _least_done_first(p: DepartmentProgress) -> tuple[int, int, str]:
    return (p.done * 100 // p.total if p.total else 100, -p.remaining, p.department)


def _progress_line(p: DepartmentProgress) -> str:
    return f"- {p.department} {fmt_percent(p.done, p.total)}（还差 {p.remaining} 条）"


# --- ranking push ---------------------------------------------------------------


def rank_change(unit: str, rank: int, previous: Mapping[str, int] | None) -> str:
    """`` ↑2``, `` ↓1``, `` 持平``, `` 新增`` (not in the last push); empty on the first push."""
    if previous is None:
        return ""
    before = previous.get(unit)
    if before is None:
        return " 新增"
    if before > rank:
        return f" ↑{before - rank}"
    if before < rank:
        return f" ↓{rank - before}"
    return " 持平"


def ranking_markdown(
    round_: RoundInfo,
    rows: Sequence[RankRow],
    at: datetime,
    *,
    final: bool,
    previous: Mapping[str, int] | None = None,
    since: str = "",
    edition: int = 1,
    missing: int = 0,
    limit: int = GROUP_MARKDOWN_LIMIT,
) -> tuple[Markdown, ...]:
    """The ranking summary for leaders' groups, split to the robot's size limit.

    Top 10 and bottom 5 are taken among units without a veto (a vetoed unit
    ranks last by rule, which would crowd the bottom 5); vetoed units get
    their own section with the reason.  ``final``: the round is complete;
    else it was published with ``missing`` scores counted as 0, and says so.
    ``previous`` maps unit to its rank in what the leaders saw last (the
    previous publication, else the last digest's provisional ranking),
    named by ``since``, for the arrows; None: no arrows.  ``edition`` counts
    publications: a second one is a correction.
    """
    ranked = [r for r in rows if not r.vetoed]
    vetoed = [r for r in rows if r.vetoed]
    top = ranked[:TOP_N]
    bottom = ranked[max(TOP_N, len(ranked) - BOTTOM_N) :]
    state = "最终排名" if final else "排名已发布"
    meta = f"{fmt_minute(at)}发布 · 共 {len(rows)} 个单位"
    meta += " · 首次发布" if edition <= 1 else f" · 第{edition}次发布（更正）"
    if previous is not None and since:
        meta += f" · 名次对比{since}"
    lines = [
        f"### {round_.title}：{state}",
        meta,
        "",
        f"**前{len(top)}名**" if len(top) < TOP_N else f"**前{TOP_N}名**",
    ]
    lines += [_rank_line(r, previous) for r in top]
    if bottom:
        lines += ["", f"**后{len(bottom)}名**"]
        lines += [_rank_line(r, previous) for r in bottom]
    if vetoed:
        lines += ["", f"**一票否决（{len(vetoed)} 个单位）**"]
        lines += [f"- {r.unit}（第{r.rank}名）：{'；'.join(r.veto_reasons) or '未注明原因'}" for r in vetoed]
    if not final:
        lines += ["", f"> {published_incomplete(missing)}"]
    return tuple(Markdown(content=page) for page in split_markdown("\n".join(lines), limit))


def published_incomplete(missing: int) -> str:
    """What a ranking published before every score was in says, in the group and in the leaders' DM."""
    return f"发布时尚缺 {missing} 条评分，按 0 分计。"


def ranking_chart_title(round_title: str, *, final: bool, missing: int = 0) -> str:
    return f"{round_title}{'最终排名' if final else f'排名（缺{missing}条评分按0分计）'}"


def shows_top(progress: Sequence[DepartmentProgress], top: Sequence[RankRow]) -> bool:
    """Whether the digest shows the provisional top 5 (from ``TOP_SHOWN_FROM`` of the tasks scored)."""
    total = sum(p.total for p in progress)
    done = sum(min(p.done, p.total) for p in progress)
    return bool(total and top and Decimal(done) / Decimal(total) >= TOP_SHOWN_FROM)


def _rank_line(r: RankRow, previous: Mapping[str, int] | None) -> str:
    return f"{r.rank}. {r.unit} {fmt(r.total)}分{rank_change(r.unit, r.rank, previous)}"


# --- splitting ------------------------------------------------------------------

_MORE = "\n（{page}/{pages}）"
#: Bytes kept free on each page for the page marker (up to 9999 pages).
_MORE_RESERVE = len(_MORE.format(page=9999, pages=9999).encode("utf-8"))


def split_markdown(text: str, limit: int = GROUP_MARKDOWN_LIMIT) -> tuple[str, ...]:
    """``text`` as pages of at most ``limit`` UTF-8 bytes, broken only between lines.

    Pages after the first repeat the first line (the heading) so each reads
    on its own, and every page of a text split in several ends with ``（i/n）``.
    A single line longer than a page (never produced by this module) is
    shortened with an ellipsis rather than cut in two.
    """
    if len(text.encode("utf-8")) <= limit:
        return (text,)
    budget = limit - _MORE_RESERVE
    if budget < 64:
        raise ValueError(f"limit {limit} is too small to split into pages")
    lines = text.split("\n")
    heading = _fit(lines[0], budget // 2)
    pages: list[list[str]] = [[]]
    size = 0
    for raw in lines:
        line = _fit(raw, budget - len(heading.encode("utf-8")) - 1)
        cost = len(line.encode("utf-8")) + (1 if pages[-1] else 0)
        if pages[-1] and size + cost > budget:
            pages.append([heading])
            size = len(heading.encode("utf-8"))
            if not line:  # a blank line at the top of a page is noise
                continue
            cost = len(line.encode("utf-8")) + 1
        pages[-1].append(line)
        size += cost
    n = len(pages)
    if n == 1:  # only shortened lines, no page break: no marker
        return ("\n".join(pages[0]),)
    return tuple("\n".join(p) + _MORE.format(page=i, pages=n) for i, p in enumerate(pages, start=1))


def _fit(line: str, limit: int) -> str:
    if len(line.encode("utf-8")) <= limit:
        return line
    data = line.encode("utf-8")[: limit - len("…".encode())]
    return data.decode("utf-8", errors="ignore") + "…"


# --- admin replies (chat and CLI alike) -------------------------------------------


def urge_summary(departments: int, persons: int, skipped_departments: int, skipped_persons: int) -> tuple[str, ...]:
    """What a 催办 did, in one or two lines."""
    if not (departments or skipped_persons):
        return ("所有部门的评分都已齐全，无需催办。",)
    lines = [f"已催办 {departments} 个部门，共 {persons} 人。" if departments else "这次没有发出新的催办。"]
    if skipped_persons:
        because = f"，{skipped_departments} 个部门因此未催办" if skipped_departments else ""
        lines.append(f"跳过 {skipped_persons} 人：一小时内刚收到过提醒或选了稍后提醒{because}。")
    return tuple(lines)


def calendar_gap_line(years: Sequence[int]) -> str:
    """The warning when reminders fall in years whose holidays are not loaded ("" when none)."""
    if not years:
        return ""
    shown = "、".join(f"{y}年" for y in years)
    return (
        f"注意：未载入{shown}的节假日安排，暂按周一至周五为工作日安排提醒；"
        "公布后请写入 SCOREBOT_HOLIDAYS_PATH 指定的文件（见 docs/holidays.md）。"
    )


def upcoming_line(at: datetime, last: datetime, kind: str, departments: int, recipients: int) -> str:
    """One planned slot for 提醒计划: ``12月3日 09:30–09:34 评分提醒 47 个部门 94 人``."""
    span = f"{fmt_minute(at)}" + (f"–{last.astimezone(TZ):%H:%M}" if last.astimezone(TZ) > at.astimezone(TZ) else "")
    if kind == "digest":
        return f"{span} 进度日报 → {recipients} 个领导群"
    return f"{span} 评分提醒 {departments} 个部门 {recipients} 人"


def policy_line(policy: ReminderPolicy) -> str:
    """A reminder policy in one sentence, for 开启考核 and ``scorebot schedule policy``."""
    parts = []
    if policy.before_working_days:
        parts.append(f"截止前 {policy.before_working_days} 个工作日起每个工作日 {policy.before_at:%H:%M}")
    if policy.last_day_at is not None:
        parts.append(f"截止前最后一个工作日 {policy.last_day_at:%H:%M}")
    if policy.deadline_day_at:
        parts.append("截止当天 " + "、".join(f"{t:%H:%M}" for t in policy.deadline_day_at))
    if policy.overdue_at is not None:
        heads = "（同时提醒部门负责人）" if policy.escalate_overdue else ""
        parts.append(f"逾期后每个工作日 {policy.overdue_at:%H:%M}{heads}")
    return "提醒：" + ("；".join(parts) if parts else "不发提醒") + "。"
