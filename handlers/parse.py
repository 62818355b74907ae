"""Typed text (or a button's key) → one ``Command``; anything else → a ``BadCommand``.

Purely syntactic: names and part codes are kept as typed, and the handlers
check them against the directory and scheme.  Whatever the text (random
unicode, control characters, megabytes), parsing returns a command or raises
a DomainError; it never crashes and its work is bounded by the size cap,
since every step is a linear scan (no backtracking-prone patterns on
unbounded text).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from datetime import date, time, timedelta
from decimal import Decimal

from handlers.commands import (
    Adjust,
    AdjustVerb,
    AllFull,
    Batch,
    BatchLine,
    Chase,
    CloseRound,
    Command,
    DayTime,
    DeadlineLine,
    Detail,
    Export,
    FailedSends,
    FullMarks,
    Help,
    OpenRound,
    PauseReminders,
    Previous,
    Progress,
    Publish,
    Quit,
    Ranking,
    ReminderPlan,
    Resend,
    ResumeReminders,
    Review,
    Score,
    SetClock,
    Skip,
    Snooze,
    Submit,
    Tasks,
    Undo,
    Unlock,
    Walk,
)
from scoring_core.errors import DomainError, InputRejected, Problem
from scoring_core.points import parse_points

#: Longest message read.  Platforms cap text near 2048 bytes; anything longer is
#: a paste gone wrong, and refusing it keeps parsing cheap.
MAX_MESSAGE_CHARS = 2000
#: Most lines in one batch message (a part is scored for at most ~60 units).
MAX_LINES = 100
#: A number longer than this is no score (and would overflow Decimal's context).
MAX_NUMBER_CHARS = 8

HINT = "可以发：任务、评分 12、核对 12、提交 12、进度、帮助"


class BadCommand(DomainError):
    """The text is not a command the bot knows, or a command is malformed."""


def _clean(text: str) -> str:
    """NFKC; control and format characters become spaces; CR/LF unified."""
    text = unicodedata.normalize("NFKC", text.replace("\r\n", "\n").replace("\r", "\n"))
    out = []
    for ch in text:
        if ch == "\n":
            out.append(ch)
        elif unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"):
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def _shown(text: str, limit: int = 20) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


_PAGE = re.compile(r"(?:第\s*)?(\d{1,3})\s*页?")
_CODE = re.compile(r"(?:第\s*)?(\d{1,2}(?:-\d{1,2})?(?:\.\d{1,2})?)\s*项?")
_NUMBER = re.compile(r"\d{1,12}(?:[.。]\d{0,12})?|[.。]\d{1,12}")
_ADJ_CODE = re.compile(r"[A-Za-z]\d{1,2}")
_DATE = re.compile(r"(?:(\d{4})\s*[-/.年]\s*)?(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?")
_TIME = re.compile(r"(\d{1,2})\s*(?:[:：]\s*(\d{1,2})|[点时]\s*(?:(\d{1,2})\s*分?)?)")

_KEYWORDS: dict[str, Command] = {
    **dict.fromkeys(("帮助", "help", "?", "菜单", "说明"), Help()),
    **dict.fromkeys(("任务", "我的任务"), Tasks()),
    **dict.fromkeys(("撤销", "撤消", "撤回", "undo"), Undo()),
    **dict.fromkeys(("进度",), Progress()),
    **dict.fromkeys(("排名", "查看排名"), Ranking()),
    **dict.fromkeys(("满分",), FullMarks()),
    **dict.fromkeys(("跳过", "下一个"), Skip()),
    **dict.fromkeys(("上一个", "上一家", "返回上一个"), Previous()),
    **dict.fromkeys(("退出", "取消", "结束"), Quit()),
    **dict.fromkeys(("关闭考核",), CloseRound()),
    **dict.fromkeys(("发布排名",), Publish()),
    **dict.fromkeys(("导出", "导出排名"), Export()),
    **dict.fromkeys(("催办",), Chase()),
    **dict.fromkeys(("稍后提醒",), Snooze()),
    **dict.fromkeys(("发送失败", "失败消息"), FailedSends()),
    **dict.fromkeys(("重发全部", "全部重发"), Resend(None)),
    **dict.fromkeys(("提醒计划", "查看提醒计划"), ReminderPlan()),
    **dict.fromkeys(("暂停提醒",), PauseReminders()),
    **dict.fromkeys(("恢复提醒",), ResumeReminders()),
}
_PAGED: dict[str, Callable[[int], Command]] = {
    "任务": Tasks,
    "进度": Progress,
    "排名": Ranking,
    "发送失败": FailedSends,
    "提醒计划": ReminderPlan,
}


def parse_command(text: str, *, case_codes: frozenset[str] = frozenset({"D9"})) -> Command:
    """One command for ``text``; BadCommand (or InputRejected, per line) if none.

    ``case_codes`` are the adjustment codes whose entries carry a case key
    (the scheme's D9), written as the word after the value.
    """
    if len(text) > MAX_MESSAGE_CHARS:
        raise BadCommand(f"消息太长（{len(text)} 字，最多 {MAX_MESSAGE_CHARS} 字），请分几次发送")
    cleaned = _clean(text)
    if len(cleaned) > MAX_MESSAGE_CHARS * 2:  # NFKC can expand a few characters a lot
        raise BadCommand(f"消息太长（最多 {MAX_MESSAGE_CHARS} 字），请分几次发送")
    lines = [(n, " ".join(line.split())) for n, line in enumerate(cleaned.split("\n"), start=1)]
    lines = [(n, line) for n, line in lines if line]
    if not lines:
        raise BadCommand(f"消息是空的。{HINT}")
    if len(lines) > MAX_LINES:
        raise BadCommand(f"一条消息最多 {MAX_LINES} 行，这条有 {len(lines)} 行，请分几次发送")
    if len(lines) == 1:
        return _single(lines[0][1], case_codes)
    return _multi(lines)


# --- one line -----------------------------------------------------------------------------


#: A walk card's button names its unit after an "@": ``满分 @市委组织部``, ``3.5 @市委组织部``.
_AT_UNIT = re.compile(r"(.*\S)\s+@\s*([^@\s][^@]*)")


def _single(line: str, case_codes: frozenset[str]) -> Command:
    at = _AT_UNIT.fullmatch(line)
    if at is not None:
        try:
            step = _single(at.group(1), case_codes)
        except DomainError:
            step = None
        if isinstance(step, Score | FullMarks | Skip | Previous):
            return replace(step, at=at.group(2).strip())
        # Otherwise the "@" is part of what was typed (a reason): read the line whole.
    key = line.lower() if line.isascii() else line
    if key in _KEYWORDS:
        return _KEYWORDS[key]
    head, _, rest = line.partition(" ")
    if head in _PAGED and rest:
        return _PAGED[head](_page(rest))
    for verb, build in _VERBS:
        if line.startswith(verb):
            return build(line[len(verb) :].strip(), case_codes)
    full = _all_full(line)
    if full is not None:
        return full
    if line[0].isdigit() or (line[0] in "-+." and len(line) > 1 and line[1].isdigit()):
        value, reason = _number_then_reason(line)
        return Score(value, reason)
    if any(ch.isdigit() for ch in line):
        return Batch((_batch_line(1, line),))
    raise BadCommand(f"没看懂“{_shown(line)}”。{HINT}")


def _page(text: str) -> int:
    m = _PAGE.fullmatch(text.strip())
    if m is None or int(m.group(1)) < 1:
        raise BadCommand(f"页码“{_shown(text, 10)}”不对：请写如“第2页”")
    return int(m.group(1))


def _code(text: str, usage: str) -> str:
    m = _CODE.fullmatch(text.strip())
    if m is None:
        shown = f"“{_shown(text, 12)}”不是评分编号" if text.strip() else "缺少评分编号"
        raise BadCommand(f"{shown}：请写如“{usage} 12”“{usage} 4.1”“{usage} 34-3.2”")
    return m.group(1)


def _code_and_page(text: str, usage: str) -> tuple[str, int]:
    code_text, _, page_text = text.strip().partition(" ")
    return _code(code_text, usage), (_page(page_text) if page_text.strip() else 1)


def _all_full(line: str) -> AllFull | None:
    for marker in ("全部满分", "全满分", "都满分"):
        if line.endswith(marker) and line[: -len(marker)].strip():
            return AllFull(_code(line[: -len(marker)], "全部满分"))
        if line.startswith(marker) and line[len(marker) :].strip():
            return AllFull(_code(line[len(marker) :], "全部满分"))
    return None


def _number_then_reason(text: str) -> tuple[Decimal, str]:
    """``3.5 演练未按期`` / ``３．５分`` / ``4``: the points and what follows."""
    if text[0] in "-+":
        if text[0] == "-":
            raise BadCommand("分数不能是负数：请写 0 到满分之间的数，如 3 或 3.5")
        text = text[1:]
    m = _NUMBER.match(text)
    if m is None:
        raise BadCommand(f"“{_shown(text)}”不是分数：请写数字，如 3 或 3.5")
    number, rest = m.group(0), text[m.end() :]
    if len(number) > MAX_NUMBER_CHARS:
        raise BadCommand(f"“{_shown(number, 12)}”不是合理的分数：请写如 3 或 3.5")
    if rest.startswith("分"):
        rest = rest[1:]
    elif rest and not rest[0].isspace() and rest[0] not in ",，;；:：、":
        raise BadCommand(f"“{_shown(text)}”不是分数：请先写分数，再空一格写理由，如“3.5 演练未按期”")
    return parse_points(number), rest.strip(" ,，;；:：、")


def _batch_line(n: int, line: str) -> BatchLine:
    """``教育局 3.5 演练未按期``: a unit name, then the points, then an optional reason."""
    first_digit = next((i for i, ch in enumerate(line) if ch.isdigit()), None)
    if first_digit is None:
        raise BadCommand(f"“{_shown(line)}”缺少分数：请写“单位 分数 理由”，如“教育局 3.5 演练未按期”")
    start = first_digit - 1 if first_digit > 0 and line[first_digit - 1] in "-." else first_digit
    name = line[:start].strip(" ,，;；:：、")
    if not name:
        raise BadCommand(f"“{_shown(line)}”缺少单位名称：请写“单位 分数 理由”")
    value, reason = _number_then_reason(line[start:])
    return BatchLine(n, name, value, reason)


# --- verbs with arguments ---------------------------------------------------------------


def _walk(rest: str, _: frozenset[str]) -> Command:
    return Walk(_code(rest, "评分"))


def _review(rest: str, _: frozenset[str]) -> Command:
    code, page = _code_and_page(rest, "核对")
    return Review(code, page)


def _submit(rest: str, _: frozenset[str]) -> Command:
    return Submit(_code(rest, "提交"))


def _detail(rest: str, _codes: frozenset[str]) -> Command:
    if not rest:
        raise BadCommand("请写明单位，如“明细 市教育局”")
    name, _, page_text = rest.rpartition(" ")
    if name and _PAGE.fullmatch(page_text):
        return Detail(name, _page(page_text))
    return Detail(rest)


def _unlock(rest: str, _codes: frozenset[str]) -> Command:
    target, _, code_text = rest.rpartition(" ")
    if not target.strip():
        raise BadCommand("请写明单位或部门和编号，如“解锁 市消防救援支队 12”")
    return Unlock(target.strip(), _code(code_text, "解锁 市消防救援支队"))


_VERB_LETTER = {AdjustVerb.BONUS: "B", AdjustVerb.DEDUCTION: "D", AdjustVerb.VETO: "V"}


def _adjust(verb: AdjustVerb) -> Callable[[str, frozenset[str]], Command]:
    def build(rest: str, case_codes: frozenset[str]) -> Command:
        return _adjustment(verb, rest, case_codes)

    return build


def _adjustment(verb: AdjustVerb, rest: str, case_codes: frozenset[str]) -> Adjust:
    letter = _VERB_LETTER[verb]
    usage = {
        AdjustVerb.BONUS: "加分 市教育局 B1 2 理由",
        AdjustVerb.DEDUCTION: "扣分 市城管局 D1 1 理由",
        AdjustVerb.VETO: "否决 市医保局 V2 理由",
    }[verb]
    words = rest.split(" ")
    recorders = [w[1:] for w in words if w.startswith("@") and len(w) > 1]
    if len(recorders) > 1:
        raise BadCommand("只能写一个录入部门（@部门）")
    words = [w for w in words if not w.startswith("@")]
    # The code is the first word that looks like one; the unit is what comes before
    # (a code glued to the name, "市城管局D8", is split off too).
    for i, word in enumerate(words):
        if _ADJ_CODE.fullmatch(word):
            unit, code, after = " ".join(words[:i]), word, words[i + 1 :]
            break
        if len(word) > 2 and _ADJ_CODE.fullmatch(word[-2:]) and not word[-3].isdigit():
            unit, code, after = " ".join([*words[:i], word[:-2]]), word[-2:], words[i + 1 :]
            break
        if len(word) > 3 and _ADJ_CODE.fullmatch(word[-3:]) and not word[-4].isdigit():
            unit, code, after = " ".join([*words[:i], word[:-3]]), word[-3:], words[i + 1 :]
            break
    else:
        raise BadCommand(f"{verb.value}须写明单位和编号（{letter} 开头，如 {letter}1），如“{usage}”")
    code = code.upper()
    if not unit.strip():
        raise BadCommand(f"{verb.value}须写明单位，如“{usage}”")
    if code[0] != letter:
        raise BadCommand(f"{verb.value}用 {letter} 开头的编号，“{code}”不是；如“{usage}”")
    value: Decimal | None = None
    if verb is not AdjustVerb.VETO and after and _is_number_word(after[0]):
        value, _ = _number_then_reason(after[0])
        after = after[1:]
    case: str | None = None
    if code in case_codes:
        if not after:
            raise BadCommand(f"{code}须写明案件（人员-案件，如“王某-案1”），再写理由")
        case, after = after[0], after[1:]
    return Adjust(verb, unit.strip(), code, value, " ".join(after).strip(), case, recorders[0] if recorders else None)


def _is_number_word(word: str) -> bool:
    body = word.removesuffix("分")
    return bool(body) and _NUMBER.fullmatch(body) is not None


_BEFORE = re.compile(r"提前\s*(\d{1,2})\s*个?\s*(?:工作日|天)")
_OPEN_USAGE = "开启考核 2020-12-20 18:00"


def _open_round(rest: str, _: frozenset[str]) -> Command:
    rest, before = _before_days(rest)
    return OpenRound(_day_time(rest, _OPEN_USAGE), before_days=before)


def _before_days(text: str) -> tuple[str, int | None]:
    """``12月20日 提前3天`` → (``12月20日``, 3): from how many working days before the deadline to remind."""
    head, found, tail = text.partition("提前")
    if not found:
        return text, None
    m = _BEFORE.fullmatch(found + tail.strip())
    if m is None:
        raise BadCommand(f"“提前{_shown(tail, 8)}”看不懂：请写如“提前3天”（截止前几个工作日开始每天提醒）")
    return head.strip(), int(m.group(1))


def _day_time(text: str, usage: str) -> DayTime:
    text = text.strip()
    for word in ("截止到", "截止", "截至", "截止时间", ":", "："):
        text = text.removeprefix(word).strip()
    m = _DATE.match(text)
    if m is None:
        raise BadCommand(f"请写截止日期，如“{usage}”或“12月20日”")
    year = int(m.group(1)) if m.group(1) else None
    month, day = int(m.group(2)), int(m.group(3))
    rest = text[m.end() :].strip()
    at: time | None = None
    if rest:
        t = _TIME.fullmatch(rest)
        if t is None:
            raise BadCommand(f"截止时间“{_shown(rest, 12)}”看不懂：请写如“18:00”或“18点”")
        hour = int(t.group(1))
        minute = int(t.group(2) or t.group(3) or 0)
        if hour > 23 or minute > 59:
            raise BadCommand(f"截止时间“{_shown(rest, 12)}”不对：小时 0–23，分钟 0–59")
        at = time(hour, minute)
    try:
        date(year or 2000, month, day)  # 2000 is a leap year: 2月29日 passes until the year is known
    except ValueError as exc:
        raise BadCommand(f"日期“{_shown(text[: m.end()], 16)}”不存在") from exc
    return DayTime(month, day, year, at)


_SHIFT = re.compile(r"\+\s*(\d{1,4})\s*(天|日|小时|时|分钟|分)")
_SHIFT_UNITS = {"天": "days", "日": "days", "小时": "hours", "时": "hours", "分钟": "minutes", "分": "minutes"}
_CLOCK_USAGE = "如“调时 +1天”“调时 +2小时”“调时 2026-10-08 09:30”“调时 复原”"


def _set_clock(rest: str, _: frozenset[str]) -> Command:
    rest = rest.strip()
    if not rest:
        return SetClock()
    if rest in ("复原", "还原", "重置", "现在"):
        return SetClock(reset=True)
    if rest.startswith("+"):
        m = _SHIFT.fullmatch(rest)
        if m is None:
            raise BadCommand(f"“{_shown(rest, 12)}”看不懂：{_CLOCK_USAGE}")
        return SetClock(by=timedelta(**{_SHIFT_UNITS[m.group(2)]: int(m.group(1))}))
    if _DATE.match(rest) is None:
        raise BadCommand(f"“{_shown(rest, 12)}”看不懂：{_CLOCK_USAGE}")
    when = _day_time(rest, "调时 2026-10-08 09:30")
    if when.at is None:
        raise BadCommand(f"请写到几点，{_CLOCK_USAGE}")
    return SetClock(to=when)


_ROW_ID = re.compile(r"#?(\d{1,12})")


def _resend(rest: str, _: frozenset[str]) -> Command:
    words = rest.replace("，", " ").replace(",", " ").replace("、", " ").split()
    if not words:
        raise BadCommand("请写要重发的消息编号，如“重发 12”，或发“重发全部”；编号见“发送失败”")
    ids = []
    for word in words[:50]:
        m = _ROW_ID.fullmatch(word)
        if m is None:
            raise BadCommand(f"“{_shown(word, 12)}”不是消息编号：请写如“重发 12 13”，编号见“发送失败”")
        ids.append(int(m.group(1)))
    return Resend(tuple(dict.fromkeys(ids)))


_VERBS: tuple[tuple[str, Callable[[str, frozenset[str]], Command]], ...] = (
    ("开启考核", _open_round),
    ("重发", _resend),
    ("调时", _set_clock),
    ("评分", _walk),
    ("开始", _walk),
    ("核对", _review),
    ("提交", _submit),
    ("明细", _detail),
    ("解锁", _unlock),
    ("加分", _adjust(AdjustVerb.BONUS)),
    ("扣分", _adjust(AdjustVerb.DEDUCTION)),
    ("否决", _adjust(AdjustVerb.VETO)),
)


# --- many lines ---------------------------------------------------------------------------


def _multi(lines: list[tuple[int, str]]) -> Command:
    first = lines[0][1]
    if first.startswith("开启考核"):
        return _open_round_lines(lines)
    if first.startswith(("加分", "扣分", "否决")):
        raise BadCommand("加分、扣分、否决请一条消息写一项")
    code: str | None = None
    rest_full = False
    header = first.removeprefix("评分").removeprefix("开始").strip()
    full = _all_full(first)
    if full is not None:
        code, rest_full = full.code, True
        lines = lines[1:]
    elif _CODE.fullmatch(header):
        code = _code(header, "评分")
        lines = lines[1:]
    problems: list[Problem] = []
    parsed: list[BatchLine] = []
    for n, line in lines:
        try:
            parsed.append(_batch_line(n, line))
        except DomainError as exc:
            problems.append(Problem(f"第{n}行", exc.user_message))
    if problems:
        raise InputRejected(f"有 {len(problems)} 行看不懂，这条消息的分数都未保存：", problems)
    return Batch(tuple(parsed), code, rest_full)


def _open_round_lines(lines: list[tuple[int, str]]) -> OpenRound:
    first, before = _before_days(lines[0][1].removeprefix("开启考核"))
    deadline = _day_time(first, _OPEN_USAGE)
    problems: list[Problem] = []
    overrides: list[DeadlineLine] = []
    for n, line in lines[1:]:
        target, _, when = line.partition(" ")
        try:
            if not when:
                raise BadCommand("请写“部门或编号 日期”，如“市消防救援支队 12月15日”")
            overrides.append(DeadlineLine(n, target, _day_time(when, "市消防救援支队 2020-12-15")))
        except DomainError as exc:
            problems.append(Problem(f"第{n}行", exc.user_message))
    if problems:
        raise InputRejected("开启考核的截止时间有误，未开启：", problems)
    return OpenRound(deadline, tuple(overrides), before)
