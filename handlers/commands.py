"""What a person can ask the bot, as typed commands (parsed by ``handlers.parse``).

Every card button's key is the text of one of these commands, so a button
and typing the same words do the same thing.  Names and part codes are kept
as typed: the handlers match them against the directory and scheme, where
the answer can say which names or codes exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta
from decimal import Decimal
from enum import StrEnum

# --- the scorer's walk and fast paths -------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tasks:
    """任务: the department's parts in the open round."""

    page: int = 1


@dataclass(frozen=True, slots=True)
class Walk:
    """评分 12: score part 12 unit by unit on cards."""

    code: str


@dataclass(frozen=True, slots=True)
class Score:
    """A bare number on the walk: ``3.5 演练未按期``.

    ``at`` (on this and the other walk steps) is the unit of the card whose
    button sent it (``3.5 @市委组织部``): a tap on an older card, still live
    on messengers that post a new card for every unit, is then refused
    instead of scoring whichever unit the walk has reached.
    """

    value: Decimal
    reason: str = ""
    at: str | None = None


@dataclass(frozen=True, slots=True)
class FullMarks:
    """满分 on the walk."""

    at: str | None = None


@dataclass(frozen=True, slots=True)
class Skip:
    """跳过: leave this unit for later."""

    at: str | None = None


@dataclass(frozen=True, slots=True)
class Previous:
    """上一个: back to the unit before."""

    at: str | None = None


@dataclass(frozen=True, slots=True)
class Quit:
    """退出: leave the walk (or drop a pending question)."""


@dataclass(frozen=True, slots=True)
class AllFull:
    """12 全部满分: every unit not yet scored for part 12 gets the max."""

    code: str


@dataclass(frozen=True, slots=True)
class BatchLine:
    line: int
    unit: str
    value: Decimal
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Batch:
    """Many units at once, one per line (``教育局 3.5 演练未按期``).

    ``code`` comes from a first line such as ``评分 12`` or ``12``; when it is
    None the handler uses the part the scorer is on, or their only part.  A
    first line ``12 全部满分`` sets ``rest_full``: the listed units get their
    lines, every other unit not yet scored gets the max.
    """

    lines: tuple[BatchLine, ...]
    code: str | None = None
    rest_full: bool = False


@dataclass(frozen=True, slots=True)
class Review:
    """核对 12: every unit's score and note for part 12, paged."""

    code: str
    page: int = 1


@dataclass(frozen=True, slots=True)
class Submit:
    """提交 12: the department declares part 12 done."""

    code: str


@dataclass(frozen=True, slots=True)
class Undo:
    """撤销: undo this user's last change."""


@dataclass(frozen=True, slots=True)
class Progress:
    """进度: the department's (or, for admins and leaders, every department's) progress."""

    page: int = 1


@dataclass(frozen=True, slots=True)
class Help:
    """帮助."""


# --- adjustments ------------------------------------------------------------------------


class AdjustVerb(StrEnum):
    BONUS = "加分"
    DEDUCTION = "扣分"
    VETO = "否决"


@dataclass(frozen=True, slots=True)
class Adjust:
    """加分 / 扣分 / 否决 <单位> <编号> [分值] [案件] 理由 [@录入部门].

    ``recorder`` (``@市法院``) lets an admin enter an entry on behalf of the
    department the scheme names for it (a D9 reported on paper).
    """

    verb: AdjustVerb
    unit: str
    code: str
    value: Decimal | None
    reason: str
    case: str | None = None
    recorder: str | None = None


# --- leaders ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ranking:
    """排名: the provisional ranking, paged."""

    page: int = 1


@dataclass(frozen=True, slots=True)
class Detail:
    """明细 <单位>: why a unit has its total."""

    unit: str
    page: int = 1


# --- admins -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DayTime:
    """A deadline as typed: the year may be left out (the handler takes the round's)."""

    month: int
    day: int
    year: int | None = None
    at: time | None = None


@dataclass(frozen=True, slots=True)
class DeadlineLine:
    """One exception line of 开启考核: ``<部门或编号> <日期>``."""

    line: int
    target: str
    when: DayTime


@dataclass(frozen=True, slots=True)
class OpenRound:
    """开启考核 <日期> [提前N天], then optional lines ``<部门或编号> <日期>``.

    ``before_days`` (提前3天): this round's reminders start that many working
    days before the deadline instead of the default.
    """

    deadline: DayTime
    overrides: tuple[DeadlineLine, ...] = ()
    before_days: int | None = None


@dataclass(frozen=True, slots=True)
class Unlock:
    """解锁 <单位或部门> <编号>."""

    target: str
    code: str


@dataclass(frozen=True, slots=True)
class CloseRound:
    """关闭考核."""


@dataclass(frozen=True, slots=True)
class Publish:
    """发布排名."""


@dataclass(frozen=True, slots=True)
class Export:
    """导出: the ranking workbook as a file."""


@dataclass(frozen=True, slots=True)
class Chase:
    """催办: which departments are behind, and a nudge to them."""


@dataclass(frozen=True, slots=True)
class FailedSends:
    """发送失败: the messages the outbox gave up on."""

    page: int = 1


@dataclass(frozen=True, slots=True)
class ReminderPlan:
    """提醒计划: the open round's reminders and digests of the next days, paged."""

    page: int = 1


@dataclass(frozen=True, slots=True)
class Resend:
    """重发 12 / 重发全部: send failed messages again (None: all of them)."""

    row_ids: tuple[int, ...] | None


@dataclass(frozen=True, slots=True)
class PauseReminders:
    """暂停提醒: hold the open round's reminders (and 催办); notices and the digest go on."""


@dataclass(frozen=True, slots=True)
class ResumeReminders:
    """恢复提醒: the open round's reminders again (what fell due meanwhile is not sent)."""


@dataclass(frozen=True, slots=True)
class Snooze:
    """稍后提醒: put off a reminder."""


@dataclass(frozen=True, slots=True)
class SetClock:
    """调时 (dev only): show the bot's clock, or move it.

    ``调时 +1天`` moves it on by ``by``; ``调时 2026-10-08 09:30`` puts it at
    ``to``; ``调时 复原`` (``reset``) puts it back to the real time.
    """

    by: timedelta | None = None
    to: DayTime | None = None
    reset: bool = False


Command = (
    Tasks
    | Walk
    | Score
    | FullMarks
    | Skip
    | Previous
    | Quit
    | AllFull
    | Batch
    | Review
    | Submit
    | Undo
    | Progress
    | Help
    | Adjust
    | Ranking
    | Detail
    | OpenRound
    | Unlock
    | CloseRound
    | Publish
    | Export
    | Chase
    | ReminderPlan
    | PauseReminders
    | ResumeReminders
    | Snooze
    | SetClock
    | FailedSends
    | Resend
)
