"""When to send: working days, quiet hours, reminder stages, catch-up.

Everything here is pure: no I/O and no clock reads.  The caller passes
``now``, so tests move time instead of sleeping, and the APScheduler wiring
stays a thin layer on top.  Every datetime taken or returned is
timezone-aware; results are in Asia/Shanghai.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Generic, Protocol, TypeVar
from zoneinfo import ZoneInfo

import chinese_calendar

from scoring_core.errors import ConfigError

log = logging.getLogger(__name__)

TZ = ZoneInfo("Asia/Shanghai")

#: Leaders' digest goes out at this time on working days.
DIGEST_AT = time(17, 30)

#: A predicate telling whether a date is a working day; swappable for tests
#: or for another calendar source.
WorkdayFn = Callable[[date], bool]


# --- errors -------------------------------------------------------------------


class CalendarRangeError(ConfigError):
    """The holiday data does not cover the date (it is published year by year)."""

    def __init__(self, day: date) -> None:
        self.day = day
        super().__init__(
            f"节假日数据不含 {day.year} 年（{day.isoformat()}），无法判断是否工作日："
            f"节假日数据从 {_FIRST_CALENDAR_YEAR} 年开始，请改用以后的日期。"
        )


class PolicyError(ConfigError):
    """A reminder policy or quiet-hours setting does not make sense."""


# --- working days -------------------------------------------------------------

#: The years the installed chinesecalendar has holiday data for.
_FIRST_CALENDAR_YEAR = min(d.year for d in chinese_calendar.holidays)
_LAST_CALENDAR_YEAR = max(d.year for d in chinese_calendar.holidays)


@dataclass(frozen=True, slots=True)
class YearDays:
    """One year's official arrangement as an override file gives it.

    ``holidays`` are days off (legal holidays and the days added to them);
    ``workdays`` are days worked that would otherwise be off (调休, usually
    a Saturday or Sunday).
    """

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()


@dataclass(frozen=True, slots=True, eq=False)
class Calendar:
    """Working days: chinesecalendar's data, with an override file's years on top.

    For a year in ``overrides``, a listed day is what the file says; other
    days of that year follow chinesecalendar when it has the year, else
    Monday to Friday.  A year that neither covers counts Monday to Friday
    as working days, with a warning logged once a process: the State
    Council publishes next year's arrangement late in the year and the
    package follows later still, so a round must not stop reminding (the
    admin is told at 开启考核).  Years before chinesecalendar's data have no
    rounds; asking about one is a ``CalendarRangeError``.
    """

    overrides: Mapping[int, YearDays] = field(default_factory=dict)

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working day in mainland China, 调休 included."""
        if isinstance(day, datetime):  # a datetime is a date; the calendar wants the day
            day = day.date()
        year = self.overrides.get(day.year)
        if year is not None:
            if day in year.holidays:
                return False
            if day in year.workdays:
                return True
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError as exc:  # the package's way to say "no data for that year"
            if day.year < _FIRST_CALENDAR_YEAR:
                raise CalendarRangeError(day) from exc
            if year is None:
                _warn_weekday_fallback(day.year)
            return day.weekday() < 5

    def covers(self, year: int) -> bool:
        """Whether the holidays of ``year`` are known (chinesecalendar or the override file)."""
        return year in self.overrides or _FIRST_CALENDAR_YEAR <= year <= _LAST_CALENDAR_YEAR

    def gaps(self, first: date, last: date) -> tuple[int, ...]:
        """The years from ``first`` to ``last`` whose holidays are not known."""
        return tuple(y for y in range(first.year, last.year + 1) if not self.covers(y))


DEFAULT_CALENDAR = Calendar()


def is_working_day(day: date) -> bool:
    """Whether ``day`` is a working day, by chinesecalendar alone (no override file)."""
    return DEFAULT_CALENDAR.is_working_day(day)


@functools.cache
def _warn_weekday_fallback(year: int) -> None:
    log.warning(
        "no holiday data for %s (chinesecalendar, SCOREBOT_HOLIDAYS_PATH): Monday to Friday count as working days",
        year,
    )


def add_working_days(day: date, n: int, *, is_workday: WorkdayFn = is_working_day) -> date:
    """The ``n``-th working day after ``day`` (before it if ``n`` < 0); ``day`` if 0.

    ``day`` itself need not be a working day and is never counted.
    """
    step = timedelta(days=1 if n >= 0 else -1)
    left = abs(n)
    while left:
        day += step
        if is_workday(day):
            left -= 1
    return day


def working_days_before(deadline: date, n: int, *, is_workday: WorkdayFn = is_working_day) -> tuple[date, ...]:
    """The ``n`` working days strictly before ``deadline``, earliest first."""
    if n < 0:
        raise ValueError("n must be >= 0")
    found: list[date] = []
    day = deadline
    while len(found) < n:
        day -= timedelta(days=1)
        if is_workday(day):
            found.append(day)
    return tuple(reversed(found))


def last_working_day_before(day: date, *, is_workday: WorkdayFn = is_working_day) -> date:
    """The last working day strictly before ``day``."""
    return add_working_days(day, -1, is_workday=is_workday)


# --- quiet hours --------------------------------------------------------------


def _local(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt!r}: pass a timezone-aware one")
    return dt.astimezone(TZ)


def at_local(day: date, at: time) -> datetime:
    """``day`` at wall-clock ``at`` in Asia/Shanghai."""
    return datetime.combine(day, at, TZ)


@dataclass(frozen=True, slots=True)
class QuietHours:
    """No message is sent from ``start`` until ``end`` (local time).

    ``start`` > ``end`` wraps past midnight (the default, 21:00–08:00);
    ``start`` == ``end`` means no quiet hours at all.
    """

    start: time = time(21, 0)
    end: time = time(8, 0)

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise PolicyError("免打扰时段请写本地时间（不带时区），如 21:00–08:00")

    def contains(self, dt: datetime) -> bool:
        """Whether ``dt`` falls in quiet hours."""
        return self.covers(_local(dt).time())

    def covers(self, t: time) -> bool:
        """Whether the wall-clock time ``t`` is quiet."""
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


DEFAULT_QUIET = QuietHours()

_HM = re.compile(r"([01]?\d|2[0-3])[:：]([0-5]\d)")
_NO_QUIET = ("off", "none", "无", "不设")


def parse_hm(text: str) -> time | None:
    """``09:30`` (or ``9:30``, ``09：30``) as a time; None when it is not one."""
    m = _HM.fullmatch(text.strip())
    return time(int(m.group(1)), int(m.group(2))) if m else None


def parse_quiet_hours(text: str) -> QuietHours:
    """``21:00-08:00`` as quiet hours; ``off`` (or nothing) for none."""
    if text.strip().lower() in ("", *_NO_QUIET):
        return QuietHours(time(0), time(0))
    parts = re.split(r"\s*[-–—~～至]\s*", text.strip())
    begin, finish = (parse_hm(parts[0]), parse_hm(parts[1])) if len(parts) == 2 else (None, None)
    if begin is None or finish is None:
        raise PolicyError(f"免打扰时段“{text[:20]}”看不懂：请写作 21:00-08:00（开始-结束，本地时间）；不设免打扰写 off")
    return QuietHours(begin, finish)


def next_allowed(dt: datetime, quiet: QuietHours = DEFAULT_QUIET) -> datetime:
    """``dt`` if sending is allowed then, else the first allowed minute after it."""
    local = _local(dt)
    if not quiet.contains(local):
        return local
    day = local.date()
    # In a wrapping window, times after ``start`` end tomorrow morning.
    if quiet.start > quiet.end and local.time() >= quiet.start:
        day += timedelta(days=1)
    return at_local(day, quiet.end)


def next_working_minute(
    dt: datetime, quiet: QuietHours = DEFAULT_QUIET, *, is_workday: WorkdayFn = is_working_day
) -> datetime:
    """``dt`` if it is outside quiet hours on a working day, else the first such minute after it."""
    found = next_allowed(dt, quiet)
    while not is_workday(found.date()):
        found = next_allowed(at_local(found.date() + timedelta(days=1), time(0)), quiet)
    return found


def snooze_until(
    now: datetime, hours: float = 2, quiet: QuietHours = DEFAULT_QUIET, *, is_workday: WorkdayFn = is_working_day
) -> datetime:
    """When a reminder snoozed (稍后提醒) at ``now`` comes back.

    Never in quiet hours and never on a day off: 稍后提醒 on a Friday
    evening comes back on Monday (or the next working day) at 08:00.
    """
    if hours <= 0:
        raise ValueError("hours must be > 0")
    return next_working_minute(_local(now) + timedelta(hours=hours), quiet, is_workday=is_workday)


def spread(
    at: datetime,
    key: str,
    max_minutes: int = 5,
    *,
    quiet: QuietHours | None = None,
) -> datetime:
    """``at`` moved by a fixed offset in [0, ``max_minutes``) taken from ``key``.

    The platforms advise against sending at :00 or :30 sharp, when everyone
    does.  The offset is a hash, not random, so a restart plans the same time.
    Seconds, not minutes, so only one key in ``max_minutes * 60`` stays sharp.
    With ``quiet``, an offset that would cross into quiet hours is applied
    backwards instead (20:58 → 20:55, not 21:01).
    """
    if max_minutes <= 0:
        return _local(at)
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    offset = timedelta(seconds=int.from_bytes(digest[:8], "big") % (max_minutes * 60))
    local = _local(at)
    later = local + offset
    if quiet is None or not quiet.contains(later):
        return later
    earlier = local - offset
    return earlier if not quiet.contains(earlier) else next_allowed(local, quiet)


# --- reminder plan ------------------------------------------------------------


class Stage(enum.Enum):
    """Which reminder a slot is; the message wording follows it."""

    BEFORE = "before"  # on working days in the run-up
    LAST_DAY = "last_day"  # the last working day before the deadline day
    DEADLINE_DAY = "deadline_day"
    OVERDUE = "overdue"


@dataclass(frozen=True, slots=True)
class ReminderPolicy:
    """Per-round reminder settings; the defaults are the issue's.

    ``before_working_days`` counts the working days before the deadline day
    that get the ``before_at`` reminder; the last working day before the
    deadline day gets the ``last_day_at`` one as well (it is one of those
    working days, and the afternoon nudge is the "tomorrow" one).  With
    ``working_days_only``, deadline-day and overdue slots skip days off:
    nobody is chased on a Sunday or in the National Day week.
    """

    before_working_days: int = 5
    before_at: time = time(9, 30)
    last_day_at: time | None = time(15, 0)
    deadline_day_at: tuple[time, ...] = (time(9, 30), time(14, 0))
    overdue_at: time | None = time(9, 30)
    working_days_only: bool = True
    escalate_overdue: bool = True  # overdue slots also go to the head and the digest

    def __post_init__(self) -> None:
        if self.before_working_days < 0:
            raise PolicyError("提前提醒的工作日数不能为负数")
        if list(self.deadline_day_at) != sorted(set(self.deadline_day_at)):
            raise PolicyError("截止当天的提醒时间须从早到晚排列且不重复")

    def times(self) -> tuple[time, ...]:
        """Every wall-clock time the policy sends at."""
        found = [self.before_at, *self.deadline_day_at]
        found += [t for t in (self.last_day_at, self.overdue_at) if t is not None]
        return tuple(found)


DEFAULT_POLICY = ReminderPolicy()

#: The keys of a reminder policy written as a mapping (``SCOREBOT_REMINDER_POLICY``, a round's own).
POLICY_KEYS = ("before_days", "before_at", "last_day_at", "deadline_day_at", "overdue_at", "escalate_overdue")
#: The most run-up working days a policy may ask for (a month of working days).
MAX_BEFORE_DAYS = 20


def policy_from(values: Mapping[str, object], base: ReminderPolicy = DEFAULT_POLICY) -> ReminderPolicy:
    """``base`` with the settings in ``values`` (JSON-like: times as ``"09:30"``, null for none).

    ``{"before_days": 3}`` reminds from 3 working days before the deadline;
    ``{"overdue_at": null}`` sends no overdue reminders.  A bad value is a
    PolicyError saying which setting and what it takes.
    """
    unknown = [k for k in values if k not in POLICY_KEYS]
    if unknown:
        raise PolicyError(f"不认识的提醒设置“{unknown[0]}”：可以设置 {'、'.join(POLICY_KEYS)}")
    changes: dict[str, object] = {}
    if "before_days" in values:
        n = values["before_days"]
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_BEFORE_DAYS:
            raise PolicyError(f"before_days（提前几个工作日开始提醒）应为 0 到 {MAX_BEFORE_DAYS} 的整数")
        changes["before_working_days"] = n
    for key in ("before_at", "last_day_at", "overdue_at"):
        if key in values:
            if values[key] is None and key != "before_at":
                changes[key] = None
            else:
                changes[key] = _policy_time(key, values[key])
    if "deadline_day_at" in values:
        times = values["deadline_day_at"]
        if not isinstance(times, list | tuple):
            raise PolicyError('deadline_day_at（截止当天几点提醒）应为时间列表，如 ["09:30", "14:00"]')
        changes["deadline_day_at"] = tuple(_policy_time("deadline_day_at", t) for t in times)
    if "escalate_overdue" in values:
        if not isinstance(values["escalate_overdue"], bool):
            raise PolicyError("escalate_overdue（逾期后是否同时提醒部门负责人）应为 true 或 false")
        changes["escalate_overdue"] = values["escalate_overdue"]
    return replace(base, **changes)  # type: ignore[arg-type]


def _policy_time(key: str, value: object) -> time:
    found = parse_hm(value) if isinstance(value, str) else None
    if found is None:
        raise PolicyError(f'{key} 的时间“{str(value)[:12]}”不对：请写如 "09:30"')
    return found


def check_send_times(policy: ReminderPolicy, quiet: QuietHours, digest_at: time = DIGEST_AT) -> None:
    """Refuse reminder or digest times inside quiet hours (they would never be sent)."""
    for t in (*policy.times(), digest_at):
        if quiet.covers(t):
            what = "日报时间" if t == digest_at and t not in policy.times() else "提醒时间"
            raise PolicyError(f"{what} {t:%H:%M} 在免打扰时段（{quiet}）内，请改到其他时间或调整免打扰时段")


@dataclass(frozen=True, slots=True)
class ReminderSlot:
    """One planned reminder time.

    ``slot_key`` is the nominal local minute ("2020-10-09T09:30"): stable
    across restarts and policy-independent, so with the round, kind and
    target it keys the outbox row that makes the send happen once.
    """

    at: datetime
    stage: Stage
    slot_key: str
    escalate: bool = False


@dataclass(frozen=True, slots=True)
class DigestSlot:
    """One leaders' digest time."""

    at: datetime
    slot_key: str


def slot_key(at: datetime) -> str:
    """The stable key of a nominal send time, e.g. ``2020-10-09T09:30``."""
    return _local(at).strftime("%Y-%m-%dT%H:%M")


def deadline_at(day: date, at: time = time.max) -> datetime:
    """A deadline on ``day``; by default the very end of that day."""
    return at_local(day, at)


def reminder_plan(
    deadline: datetime,
    *,
    until: datetime,
    policy: ReminderPolicy = DEFAULT_POLICY,
    quiet: QuietHours = DEFAULT_QUIET,
    is_workday: WorkdayFn = is_working_day,
) -> tuple[ReminderSlot, ...]:
    """Every reminder slot for ``deadline`` up to ``until`` (inclusive), in time order.

    Deadline-day slots are only those before the deadline itself; overdue
    slots start the day after.  Policy times inside quiet hours are refused
    rather than moved, so two slots can never collapse onto one minute.
    """
    for t in policy.times():
        if quiet.covers(t):
            raise PolicyError(f"提醒时间 {t:%H:%M} 在免打扰时段（{quiet}）内，请改到其他时间")
    deadline = _local(deadline)
    until = _local(until)
    due_day = deadline.date()
    slots: list[ReminderSlot] = []

    def add(day: date, at: time, stage: Stage) -> None:
        when = at_local(day, at)
        escalate = stage is Stage.OVERDUE and policy.escalate_overdue
        slots.append(ReminderSlot(when, stage, slot_key(when), escalate))

    run_up = working_days_before(due_day, policy.before_working_days, is_workday=is_workday)
    last_day = last_working_day_before(due_day, is_workday=is_workday) if policy.last_day_at is not None else None
    for day in run_up:
        if day != last_day or policy.last_day_at != policy.before_at:  # one slot per minute
            add(day, policy.before_at, Stage.BEFORE)
    if last_day is not None and policy.last_day_at is not None:
        add(last_day, policy.last_day_at, Stage.LAST_DAY)

    if not policy.working_days_only or is_workday(due_day):
        for t in policy.deadline_day_at:
            if at_local(due_day, t) < deadline:
                add(due_day, t, Stage.DEADLINE_DAY)

    if policy.overdue_at is not None:
        day = due_day + timedelta(days=1)
        while at_local(day, policy.overdue_at) <= until:
            if not policy.working_days_only or is_workday(day):
                add(day, policy.overdue_at, Stage.OVERDUE)
            day += timedelta(days=1)

    return tuple(s for s in sorted(slots, key=lambda s: s.at) if s.at <= until)


def digest_slots(
    since: datetime,
    until: datetime,
    *,
    at: time = DIGEST_AT,
    is_workday: WorkdayFn = is_working_day,
) -> tuple[DigestSlot, ...]:
    """Leaders' digest times on working days, ``since`` <= time <= ``until``."""
    since, until = _local(since), _local(until)
    found: list[DigestSlot] = []
    day = since.date()
    while at_local(day, at) <= until:
        when = at_local(day, at)
        if when >= since and is_workday(day):
            found.append(DigestSlot(when, slot_key(when)))
        day += timedelta(days=1)
    return tuple(found)


def next_digest_after(now: datetime, *, at: time = DIGEST_AT, is_workday: WorkdayFn = is_working_day) -> datetime:
    """The first digest time strictly after ``now``."""
    now = _local(now)
    day = now.date()
    while not (is_workday(day) and at_local(day, at) > now):
        day += timedelta(days=1)
    return at_local(day, at)


# --- due, next, catch-up -------------------------------------------------------


class Timed(Protocol):
    """Anything planned at a time under a stable key (reminder or digest slot)."""

    @property
    def at(self) -> datetime: ...

    @property
    def slot_key(self) -> str: ...


S = TypeVar("S", bound=Timed)


def next_slot_after(now: datetime, slots: Iterable[S]) -> S | None:
    """The earliest slot strictly after ``now``, or None when none is left."""
    now = _local(now)
    later = [s for s in slots if s.at > now]
    return min(later, key=lambda s: s.at) if later else None


@dataclass(frozen=True, slots=True)
class CatchUp(Generic[S]):
    """What to do with slots that came due since the last run.

    ``due``: send now (still within the grace window).  ``missed``: too old,
    skip and log.  Both in time order.
    """

    due: tuple[S, ...]
    missed: tuple[S, ...]


def due_slots(
    now: datetime,
    slots: Iterable[S],
    last_run: datetime | None,
    grace: timedelta = timedelta(hours=2),
) -> CatchUp[S]:
    """Split the slots in (``last_run``, ``now``] into due and missed.

    ``last_run`` is when the previous run handled slots (None: never, so
    every past slot is considered).  A slot at most ``grace`` old is due;
    older ones are missed, e.g. while the bot was down overnight.  Exactly
    once is still the outbox's job: this only chooses candidates.
    """
    now = _local(now)
    start = _local(last_run) if last_run is not None else None
    window: Sequence[S] = sorted(
        (s for s in slots if s.at <= now and (start is None or s.at > start)),
        key=lambda s: s.at,
    )
    due = tuple(s for s in window if now - s.at <= grace)
    missed = tuple(s for s in window if now - s.at > grace)
    return CatchUp(due, missed)


# --- 催办 -------------------------------------------------------------------------

#: Nobody gets two reminders (scheduled, 稍后提醒's follow-up or 催办) within this.
URGE_WINDOW = timedelta(hours=1)


def urge_slot(now: datetime, slots: Iterable[Timed], window: timedelta = URGE_WINDOW) -> str:
    """The slot key a 催办 at ``now`` goes under, so it shares keys with the planned reminders.

    A planned slot less than ``window`` before ``now`` is the reminder just
    sent (or about to go at its spread minute): the 催办 is that reminder.
    Else a slot at most ``window`` after ``now``: the 催办 stands for it, and
    the sweep finds it sent.  Else a key of its own, ``urge-<minute>``.
    """
    now = _local(now)
    slots = list(slots)
    before = [s for s in slots if now - window < s.at <= now]
    if before:
        return max(before, key=lambda s: s.at).slot_key
    after = [s for s in slots if now < s.at <= now + window]
    if after:
        return min(after, key=lambda s: s.at).slot_key
    return f"urge-{slot_key(now)}"
