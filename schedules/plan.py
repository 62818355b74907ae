"""What a sweep should send now: pure planning from a round's state and the clock.

The sweep job reads the state (rounds, progress, snoozes, the last run) and
hands it here; what comes back is a list of ``Send``, each with the dedupe
key the outbox makes unique.  Keys name (round, kind, target, slot), so
planning the same minute twice, after a restart or in a second process,
yields the same keys and the outbox keeps one row of each.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

from bot.events import Platform
from bot.messages import Card, File, Image, Message, Outbound, Target
from schedules.content import (
    DepartmentProgress,
    PartCount,
    RankRow,
    RoundInfo,
    digest_markdown,
    ranking_markdown,
    reminder_card,
    round_opened_card,
    shows_top,
    upcoming_line,
)
from schedules.timing import (
    DEFAULT_CALENDAR,
    DEFAULT_POLICY,
    DEFAULT_QUIET,
    DIGEST_AT,
    TZ,
    Calendar,
    CatchUp,
    QuietHours,
    ReminderPolicy,
    ReminderSlot,
    Stage,
    WorkdayFn,
    digest_slots,
    due_slots,
    is_working_day,
    last_working_day_before,
    reminder_plan,
    slot_key,
    spread,
)
from scoring_core.directory import Directory, Role

log = logging.getLogger(__name__)

#: The outbox's dedupe_key column holds this many characters.
MAX_KEY = 255


class Kind(StrEnum):
    """What a scheduled send is; part of its dedupe key."""

    OPENED = "open"
    REMIND = "remind"
    REMIND_HEAD = "remind-head"
    SNOOZED = "snooze"
    DIGEST = "digest"
    RANKING = "ranking"


def send_key(round_id: int | str, kind: Kind, target: Target, slot: str) -> str:
    """The dedupe key of one scheduled send: ``r7:remind:sandbox:user:zhang:2020-10-09T09:30``."""
    key = f"r{round_id}:{kind.value}:{target.platform.value}:{target.kind.value}:{target.id}:{slot}"
    if len(key) <= MAX_KEY:
        return key
    # Only absurdly long platform ids get here; a hash keeps the key unique and stable.
    return f"r{round_id}:{kind.value}:h:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ScheduleConfig:
    """How and when to send; built from settings (or a round's own policy)."""

    policy: ReminderPolicy = DEFAULT_POLICY
    quiet: QuietHours = DEFAULT_QUIET
    grace: timedelta = timedelta(hours=2)
    spread_minutes: int = 5
    is_workday: WorkdayFn = is_working_day
    #: where ``is_workday`` comes from, to tell which years' holidays are known
    calendar: Calendar = DEFAULT_CALENDAR


@dataclass(frozen=True, slots=True)
class Recipients:
    """Who in a department gets what: scorers the reminders, heads the escalations."""

    members: tuple[Target, ...] = ()
    heads: tuple[Target, ...] = ()

    @property
    def everyone(self) -> tuple[Target, ...]:
        """Members then heads, each once: who is told that a round opened."""
        return tuple(dict.fromkeys((*self.members, *self.heads)))


def escalation_heads(who: Recipients) -> tuple[Target, ...]:
    """The heads an overdue reminder escalates to: those not already reminded as members.

    (A department without scorers has its heads take the members' reminders.)
    """
    return tuple(t for t in who.heads if t not in who.members)


def recipients_from_directory(directory: Directory, platforms: Sequence[str]) -> dict[str, Recipients]:
    """Targets per department on the platforms in use.

    A department without scorers has its heads take the members' reminders
    too, so nobody's work goes unreminded.
    """
    found: dict[str, Recipients] = {}
    for dept in directory.departments:
        members: list[Target] = []
        heads: list[Target] = []
        for member in dept.members:
            targets = [Target.user(Platform(p), uid) for p, uid in member.ids.items() if p in platforms]
            if member.role is Role.SCORER:
                members += targets
            elif member.role is Role.HEAD:
                heads += targets
        found[dept.name] = Recipients(tuple(members or heads), tuple(heads))
    return found


@dataclass(frozen=True, slots=True)
class Send:
    """One planned message: the outbox row to write."""

    kind: Kind
    key: str
    target: Target
    message: Message
    at: datetime  # when it is due (the slot time after spread)

    def outbound(self) -> Outbound:
        return Outbound(target=self.target, message=self.message, dedupe_key=self.key)


@dataclass(frozen=True, slots=True)
class Missed:
    """A slot too old to catch up on: logged, not sent.

    ``department`` is None for the leaders' digest; ``target`` names the
    person of a snooze follow-up (稍后提醒 is per person).
    """

    round_id: int | str
    kind: Kind
    department: str | None
    slot_key: str
    at: datetime
    target: Target | None = None


@dataclass(frozen=True, slots=True)
class SweepPlan:
    sends: tuple[Send, ...] = ()
    missed: tuple[Missed, ...] = ()
    #: digests planned now that show the provisional ranking: their ranks are kept,
    #: so the ranking push can show the changes since (slot time, slot key)
    ranked_digests: tuple[tuple[datetime, str], ...] = ()


@dataclass(frozen=True, slots=True)
class RoundState:
    """A round's state as a sweep sees it."""

    info: RoundInfo
    opened_at: datetime
    progress: tuple[DepartmentProgress, ...]
    paused: bool = False
    #: the provisional ranking, for the digest's top 5 (only needed from 80 %)
    top: tuple[RankRow, ...] = ()
    #: every part a department scores, for the opening notice
    work: Mapping[str, tuple[PartCount, ...]] = field(default_factory=dict)
    #: distinct units each department scores
    units: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SpreadSlot:
    """A reminder slot moved off the sharp minute for one department."""

    at: datetime
    slot_key: str
    slot: ReminderSlot


def stage_at(now: datetime, deadline: datetime, *, is_workday: WorkdayFn = is_working_day) -> Stage:
    """Which stage a reminder sent at ``now`` belongs to (for snooze follow-ups)."""
    today: date = now.astimezone(TZ).date()
    due: date = deadline.astimezone(TZ).date()
    if now > deadline or today > due:
        return Stage.OVERDUE
    if today == due:
        return Stage.DEADLINE_DAY
    if today >= last_working_day_before(due, is_workday=is_workday):
        return Stage.LAST_DAY
    return Stage.BEFORE


def plan_round(
    state: RoundState,
    recipients: Mapping[str, Recipients],
    leader_groups: Sequence[Target],
    now: datetime,
    last_run: datetime | None,
    snoozes: Mapping[Target, datetime],
    config: ScheduleConfig = ScheduleConfig(),  # frozen, holds no resource
) -> SweepPlan:
    """Every send of one open round due at ``now``, and the slots missed.

    Nothing in quiet hours: the caller keeps ``last_run`` and tries again.
    ``snoozes`` maps a target to its snooze-until (稍后提醒); a snoozed
    target skips slots until then and gets one reminder when it ends.
    """
    if config.quiet.contains(now):
        return SweepPlan()
    # Departments mostly share a deadline: ask the calendar once per day, not per department.
    config = replace(config, is_workday=lru_cache(maxsize=4096)(config.is_workday))
    plans: dict[datetime, tuple[ReminderSlot, ...]] = {}
    info = state.info
    sends: list[Send] = []
    missed: list[Missed] = []

    for progress in state.progress:
        dept = progress.department
        who = recipients.get(dept, Recipients())
        if progress.finished:
            continue  # a department that finished gets nothing more
        sends += _notices(state, progress, who, now)
        if state.paused:
            continue
        if progress.deadline not in plans:
            plans[progress.deadline] = reminder_plan(
                progress.deadline, until=now, policy=config.policy, quiet=config.quiet, is_workday=config.is_workday
            )
        sends += _reminders(state, progress, plans[progress.deadline], who, now, last_run, snoozes, config, missed)
        sends += _snooze_returns(state, progress, who, now, last_run, snoozes, config, missed)

    digests = digest_slots(state.opened_at, now, at=DIGEST_AT, is_workday=config.is_workday)
    catch = due_slots(now, digests, last_run, config.grace) if leader_groups else CatchUp((), ())
    missed += [Missed(info.id, Kind.DIGEST, None, s.slot_key, s.at) for s in catch.missed]
    ranked: list[tuple[datetime, str]] = []
    for slot in catch.due:
        pages = digest_markdown(info, state.progress, slot.at, state.top)
        if shows_top(state.progress, state.top):
            ranked.append((slot.at, slot.slot_key))
        for group in leader_groups:
            for n, page in enumerate(pages, start=1):
                key = send_key(info.id, Kind.DIGEST, group, f"{slot.slot_key}#{n}")
                sends.append(Send(Kind.DIGEST, key, group, page, slot.at))
    return SweepPlan(tuple(sends), tuple(missed), tuple(ranked))


def opening_notices(state: RoundState, recipients: Mapping[str, Recipients], now: datetime) -> tuple[Send, ...]:
    """The round-opened card to everyone in each department with work in the round.

    The admin's 开启考核 sends these at once; the sweep plans the same keys
    again (for a member added later, or another platform), so each person
    gets one card.
    """
    sends: list[Send] = []
    for progress in state.progress:
        if not progress.finished:
            sends += _notices(state, progress, recipients.get(progress.department, Recipients()), now)
    return tuple(sends)


def _notices(state: RoundState, progress: DepartmentProgress, who: Recipients, now: datetime) -> list[Send]:
    dept = progress.department
    parts = state.work.get(dept, progress.left)
    units = state.units.get(dept, max((p.units for p in parts), default=0))
    notice = round_opened_card(state.info, dept, parts, units, progress.deadline)
    return [
        Send(Kind.OPENED, send_key(state.info.id, Kind.OPENED, target, "1"), target, notice, now)
        for target in who.everyone
    ]


def _reminders(
    state: RoundState,
    progress: DepartmentProgress,
    plan: Sequence[ReminderSlot],
    who: Recipients,
    now: datetime,
    last_run: datetime | None,
    snoozes: Mapping[Target, datetime],
    config: ScheduleConfig,
    missed: list[Missed],
) -> list[Send]:
    info = state.info
    dept = progress.department
    slots = [
        SpreadSlot(
            spread(s.at, f"{info.id}:{dept}:{s.slot_key}", config.spread_minutes, quiet=config.quiet), s.slot_key, s
        )
        for s in plan
        if s.at > state.opened_at  # the opening notice stands for a slot before it
    ]
    catch = due_slots(now, slots, last_run, config.grace)
    missed += [Missed(info.id, Kind.REMIND, dept, s.slot_key, s.at) for s in catch.missed]
    sends: list[Send] = []
    for spread_slot in catch.due:
        slot = spread_slot.slot
        card: Card = reminder_card(info, progress, slot.stage, slot.at)
        for target in who.members:
            if snoozes.get(target, now) > now:
                continue  # snoozed: the follow-up at its end stands for this one
            key = send_key(info.id, Kind.REMIND, target, slot.slot_key)
            sends.append(Send(Kind.REMIND, key, target, card, spread_slot.at))
        if slot.escalate:
            head_card = reminder_card(info, progress, slot.stage, slot.at, to_head=True)
            for target in escalation_heads(who):
                if snoozes.get(target, now) > now:
                    continue  # 稍后提醒 holds a head's reminders too
                key = send_key(info.id, Kind.REMIND_HEAD, target, slot.slot_key)
                sends.append(Send(Kind.REMIND_HEAD, key, target, head_card, spread_slot.at))
    return sends


def _snooze_returns(
    state: RoundState,
    progress: DepartmentProgress,
    who: Recipients,
    now: datetime,
    last_run: datetime | None,
    snoozes: Mapping[Target, datetime],
    config: ScheduleConfig,
    missed: list[Missed],
) -> list[Send]:
    """One reminder to each person whose snooze ended since the last run (within grace).

    Members get the reminder card; a head (not also a member) gets one only
    when the department is overdue by then and overdue reminders escalate,
    the head's card.  A follow-up older than the grace window (the bot was
    down) is missed like a slot: reported for the log, not sent.
    """
    sends: list[Send] = []
    heads = escalation_heads(who)
    for target in (*who.members, *heads):
        until = snoozes.get(target)
        if until is None or until > now:
            continue
        if last_run is not None and until <= last_run:
            continue
        stage = stage_at(until, progress.deadline, is_workday=config.is_workday)
        to_head = target in heads
        if to_head and not (stage is Stage.OVERDUE and config.policy.escalate_overdue):
            continue  # heads hear only of an overdue department
        if now - until > config.grace:
            missed.append(Missed(state.info.id, Kind.SNOOZED, progress.department, slot_key(until), until, target))
            continue
        card = reminder_card(state.info, progress, stage, until, to_head=to_head)
        key = send_key(state.info.id, Kind.SNOOZED, target, slot_key(until))
        sends.append(Send(Kind.SNOOZED, key, target, card, until))
    return sends


def plan_ranking_push(
    info: RoundInfo,
    rows: Sequence[RankRow],
    groups: Sequence[Target],
    at: datetime,
    *,
    event: str,
    final: bool,
    previous: Mapping[str, int] | None,
    chart_png: bytes,
    workbook: bytes,
    since: str = "",
    edition: int = 1,
    missing: int = 0,
) -> tuple[Send, ...]:
    """The ranking push to each leaders' group: markdown pages, the chart, the workbook.

    ``event`` names what triggered it (``published-2020-10-20T10:00``,
    ``closed``), so a second publish pushes again but a restart does not.
    """
    pages = ranking_markdown(
        info, rows, at, final=final, previous=previous, since=since, edition=edition, missing=missing
    )
    stamp = at.astimezone(TZ).strftime("%Y%m%d-%H%M")
    parts: list[tuple[str, Message]] = [(f"md{n}", page) for n, page in enumerate(pages, start=1)]
    parts.append(("chart", Image(filename=f"排名图-{stamp}.png", data=chart_png)))
    parts.append(("xlsx", File(filename=f"{info.title}排名-{stamp}.xlsx", data=workbook)))
    sends = []
    for group in groups:
        for name, message in parts:
            key = send_key(info.id, Kind.RANKING, group, f"{event}#{name}")
            sends.append(Send(Kind.RANKING, key, group, message, at))
    return tuple(sends)


@dataclass(frozen=True, slots=True)
class Upcoming:
    """A planned send, for admins' 'what goes out next' list."""

    at: datetime
    round_id: int | str
    kind: Kind
    department: str | None  # None: the leaders' digest
    slot_key: str
    recipients: int


def upcoming(
    state: RoundState,
    recipients: Mapping[str, Recipients],
    leader_groups: Sequence[Target],
    now: datetime,
    until: datetime,
    config: ScheduleConfig = ScheduleConfig(),  # frozen, holds no resource
) -> list[Upcoming]:
    """Sends planned in (``now``, ``until``] for one round as things stand, in time order.

    Departments that finish before then drop out; a paused round lists only digests.
    """
    info = state.info
    found: list[Upcoming] = []
    if not state.paused:
        for progress in state.progress:
            if progress.finished:
                continue
            who = recipients.get(progress.department, Recipients())
            plan = reminder_plan(
                progress.deadline, until=until, policy=config.policy, quiet=config.quiet, is_workday=config.is_workday
            )
            for slot in plan:
                at = spread(slot.at, f"{info.id}:{progress.department}:{slot.slot_key}", config.spread_minutes,
                            quiet=config.quiet)  # fmt: skip
                if at > now:
                    count = len(who.members) + (len(who.heads) if slot.escalate else 0)
                    found.append(Upcoming(at, info.id, Kind.REMIND, progress.department, slot.slot_key, count))
    if leader_groups:
        for d in digest_slots(max(now, state.opened_at), until, at=DIGEST_AT, is_workday=config.is_workday):
            if d.at > now:
                found.append(Upcoming(d.at, info.id, Kind.DIGEST, None, d.slot_key, len(leader_groups)))
    return sorted(found, key=lambda u: (u.at, u.department or ""))


def upcoming_summary(items: Sequence[Upcoming]) -> list[str]:
    """Planned sends one line per slot (departments' spread minutes taken together), in time order."""
    slots: dict[tuple[int | str, Kind, str], list[Upcoming]] = {}
    for item in items:
        slots.setdefault((item.round_id, item.kind, item.slot_key), []).append(item)
    lines = []
    for (_, kind, _), group in sorted(slots.items(), key=lambda kv: min(u.at for u in kv[1])):
        first, last = min(u.at for u in group), max(u.at for u in group)
        departments = len({u.department for u in group if u.department is not None})
        lines.append(upcoming_line(first, last, kind.value, departments, sum(u.recipients for u in group)))
    return lines


#: Overdue reminders run on after the deadline: a week of them is checked against the calendar.
OVERDUE_LOOKAHEAD = timedelta(days=7)


def calendar_gaps(config: ScheduleConfig, now: datetime, deadlines: Sequence[datetime]) -> tuple[int, ...]:
    """Years from today to a week past the last deadline whose holidays the calendar does not know."""
    if not deadlines:
        return ()
    last = max(deadlines) + OVERDUE_LOOKAHEAD
    return config.calendar.gaps(now.astimezone(TZ).date(), last.astimezone(TZ).date())
