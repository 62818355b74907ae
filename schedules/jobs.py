"""The scheduled jobs and the admin actions, over the database and the outbox.

APScheduler calls the module-level job functions with a runtime id (not
the runtime itself), as persistent job stores require; ``register`` maps
the id to the running process's ``ScheduleRuntime``.  The work is in
``run_sweep``: read the state, plan with ``schedules.plan`` (pure), enqueue
every send under its dedupe key, and move ``last_run``, all in one
transaction.  Exactly once comes from the outbox's unique dedupe key; the
lease only spares a second process the work of planning.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.events import Platform
from bot.messages import Target, TargetKind
from schedules import chart
from schedules.content import calendar_gap_line, fmt_minute, ranking_chart_title, reminder_card
from schedules.plan import (
    Kind,
    Missed,
    Recipients,
    ScheduleConfig,
    Send,
    Upcoming,
    calendar_gaps,
    escalation_heads,
    plan_ranking_push,
    plan_round,
    send_key,
    stage_at,
    upcoming,
)
from schedules.source import RoundSnapshot, RoundSource
from schedules.timing import (
    URGE_WINDOW,
    QuietHours,
    ReminderPolicy,
    Stage,
    check_send_times,
    next_allowed,
    policy_from,
    reminder_plan,
    snooze_until,
    urge_slot,
)
from scoring_core.errors import ConfigError, DomainError
from storage import outbox
from storage import schedules as state
from storage.models.messaging import OutboxRow

log = logging.getLogger(__name__)

#: The one lease all scheduler processes compete for.
LEASE = "schedules"
#: Dedupe keys looked up per query (well under every backend's parameter limit).
_KEY_BATCH = 500


@dataclass(frozen=True, slots=True)
class Schedules:
    """What planning needs besides the database and the clock, built once from settings.

    The sweep's runtime holds the same; chat handlers get it through their
    services, so 催办, 提醒计划 and 暂停提醒 in chat and in the CLI run the
    same functions on the same rounds, recipients and configuration.
    """

    source: RoundSource
    recipients: Mapping[str, Recipients]
    leader_groups: tuple[Target, ...] = ()
    config: ScheduleConfig = field(default_factory=ScheduleConfig)


@dataclass
class ScheduleRuntime:
    """Everything the jobs need, built once by the app factory (or the CLI)."""

    sessions: async_sessionmaker[Any]
    source: RoundSource
    recipients: Mapping[str, Recipients]
    leader_groups: tuple[Target, ...]
    clock: Clock
    config: ScheduleConfig = field(default_factory=ScheduleConfig)
    lease_for: timedelta = timedelta(minutes=5)
    holder: str = field(default_factory=lambda: f"sched-{uuid.uuid4().hex[:12]}")
    #: one sweep at a time in this process (the timer, a wake after the dev clock moved, a test)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @classmethod
    def of(cls, schedules: Schedules, sessions: async_sessionmaker[Any], clock: Clock) -> ScheduleRuntime:
        return cls(sessions, schedules.source, schedules.recipients, schedules.leader_groups, clock, schedules.config)

    @property
    def schedules(self) -> Schedules:
        return Schedules(self.source, self.recipients, self.leader_groups, self.config)


def config_for(config: ScheduleConfig, values: Mapping[str, Any] | None) -> ScheduleConfig:
    """``config`` with a round's own reminder settings (``storage.schedules.round_policies``)."""
    return replace(config, policy=policy_from(values, config.policy)) if values else config


@dataclass(frozen=True, slots=True)
class SweepReport:
    """What one sweep did; logged, and what tests look at."""

    planned: bool  # False: another process holds the lease, or quiet hours
    enqueued: int = 0
    duplicates: int = 0  # planned sends whose key was already in the outbox
    missed: int = 0
    pushed: tuple[str, ...] = ()
    failed: tuple[int, ...] = ()  # rounds whose planning raised (logged); the others were swept


# --- the registry behind job ids -------------------------------------------------------

_RUNTIMES: dict[str, ScheduleRuntime] = {}


def register(runtime: ScheduleRuntime) -> str:
    _RUNTIMES[runtime.holder] = runtime
    return runtime.holder


def unregister(runtime_id: str) -> None:
    _RUNTIMES.pop(runtime_id, None)


def runtime(runtime_id: str) -> ScheduleRuntime:
    try:
        return _RUNTIMES[runtime_id]
    except KeyError:
        raise DomainError(f"调度器 {runtime_id} 未运行") from None


# --- job functions (what APScheduler calls) ----------------------------------------------


async def sweep(runtime_id: str) -> SweepReport:
    """The minute job: plan and enqueue whatever is due."""
    return await run_sweep(runtime(runtime_id))


# --- the sweep -------------------------------------------------------------------------


async def run_sweep(rt: ScheduleRuntime) -> SweepReport:
    async with rt.lock:
        return await _sweep(rt)


async def _sweep(rt: ScheduleRuntime) -> SweepReport:
    now = rt.clock()
    async with rt.sessions() as session, session.begin():
        held = await state.acquire_lease(session, LEASE, rt.holder, now, now + rt.lease_for)
    if not held:
        return SweepReport(planned=False)
    if rt.config.quiet.contains(now):
        return SweepReport(planned=False)  # last_run stays: what falls due waits for the morning

    enqueued = duplicates = missed = 0
    pushed: list[str] = []
    failed: list[int] = []
    async with rt.sessions() as session, session.begin():
        last = await state.last_run(session, LEASE)
        paused = await state.paused_rounds(session)
        policies = await state.round_policies(session)
        snoozes = await state.snoozes_since(session, (last or now) - rt.config.grace)
        for snap in await rt.source.snapshots(session, now):
            # A savepoint per round: a round that fails halfway (its digest's ranks
            # recorded, its chart not drawn) leaves nothing of itself behind.
            round_writes = await session.begin_nested()
            try:
                sends, round_missed, push = await _round_sends(
                    session, rt, snap, now, last, snoozes, paused, policies.get(snap.round_id)
                )
            except SQLAlchemyError:
                raise  # the transaction is gone: the next sweep tries again
            except Exception:
                # One round's problem (a bad stored policy, a date the calendar cannot
                # place, a chart that would not draw) must not stop the other rounds.
                await round_writes.rollback()
                log.exception(
                    "sweep at %s: round %s skipped; its sends due since %s were not queued, the other rounds go on",
                    now,
                    snap.round_id,
                    last,
                )
                failed.append(snap.round_id)
                continue
            await round_writes.commit()
            for m in round_missed:
                log_missed(m)
            missed += len(round_missed)
            pushed += push
            new, dup = await _enqueue(session, sends, now)
            enqueued += new
            duplicates += dup
        await state.set_last_run(session, LEASE, now)
        await state.clear_snoozes_before(session, now - timedelta(days=2))
    if enqueued or missed or pushed:
        log.info("sweep at %s: %d enqueued, %d already sent, %d missed", now, enqueued, duplicates, missed)
    return SweepReport(True, enqueued, duplicates, missed, tuple(pushed), tuple(failed))


async def _round_sends(
    session: AsyncSession,
    rt: ScheduleRuntime,
    snap: RoundSnapshot,
    now: datetime,
    last: datetime | None,
    snoozes: Mapping[Target, datetime],
    paused: set[int],
    policy: Mapping[str, Any] | None,
) -> tuple[list[Send], tuple[Missed, ...], list[str]]:
    """One round's sends due now, the slots it missed, and the ranking push it made."""
    sends: list[Send] = []
    missed: tuple[Missed, ...] = ()
    pushed: list[str] = []
    if snap.is_open:
        round_state = replace(snap.state, paused=snap.round_id in paused)
        config = config_for(rt.config, policy)
        plan = plan_round(round_state, rt.recipients, rt.leader_groups, now, last, snoozes, config)
        sends += plan.sends
        missed = plan.missed
        ranks = {r.unit: r.rank for r in snap.rows}
        for at, key in plan.ranked_digests:  # what the leaders saw: the next push shows changes since
            await state.record_push(session, snap.round_id, f"{state.DIGEST_PREFIX}{key}", at, ranks)
    if snap.push is not None and rt.leader_groups:
        done = await state.pushed_events(session, snap.round_id)
        if snap.push.event not in done:
            sends += await _ranking_sends(session, rt, snap, now)
            pushed.append(f"{snap.round_id}:{snap.push.event}")
    return sends, missed, pushed


def log_missed(m: Missed) -> None:
    """A send skipped as older than the grace window: one warning line, whatever its kind."""
    what = {Kind.DIGEST: "digest", Kind.SNOOZED: "snooze follow-up"}.get(m.kind, "reminder")
    who = m.department or "leaders' groups"
    if m.target is not None:
        who += f" {m.target.platform.value}:{m.target.id}"
    log.warning("skipped %s r%s/%s at %s: older than the grace window", what, m.round_id, who, m.slot_key)


async def _enqueue(session: AsyncSession, sends: Sequence[Send], now: datetime) -> tuple[int, int]:
    """Enqueue what is not in the outbox yet; returns (new rows, duplicates).

    Every sweep plans the round's notices again (a member added later gets
    one), so most keys already exist: look them up in bulk first instead
    of trying a thousand conflicting inserts.  The insert still ignores a
    conflict, which is what settles a race with another process.
    """
    existing: set[str] = set()
    keys = [s.key for s in sends]
    for start in range(0, len(keys), _KEY_BATCH):
        batch = keys[start : start + _KEY_BATCH]
        existing.update(await session.scalars(select(OutboxRow.dedupe_key).where(OutboxRow.dedupe_key.in_(batch))))
    new = dup = 0
    for send in sends:
        if send.key in existing or await outbox.enqueue(session, send.outbound(), now) is None:
            dup += 1
        else:
            new += 1
    return new, dup


async def _ranking_sends(session: AsyncSession, rt: ScheduleRuntime, snap: RoundSnapshot, now: datetime) -> list[Send]:
    assert snap.push is not None
    push = snap.push
    info = snap.state.info
    baseline = await state.push_baseline(session, snap.round_id)
    since = ""
    if baseline is not None:
        since = f"{fmt_minute(baseline.at)}{'进度日报' if baseline.digest else '发布的排名'}"
    rows = [(r.unit, r.total) for r in snap.rows]
    vetoed = frozenset(r.unit for r in snap.rows if r.vetoed)
    title = ranking_chart_title(info.title, final=push.final, missing=push.missing)
    # matplotlib is CPU-bound and its first import reads fonts: keep it off the loop.
    png = await asyncio.to_thread(chart.render_ranking_chart, rows, title, vetoed=vetoed)
    workbook = await rt.source.workbook(session, snap.round_id)
    sends = plan_ranking_push(
        info,
        snap.rows,
        rt.leader_groups,
        push.at,
        event=push.event,
        final=push.final,
        previous=baseline.ranks if baseline is not None else None,
        chart_png=png,
        workbook=workbook,
        since=since,
        edition=(baseline.publications if baseline is not None else 0) + 1,
        missing=push.missing,
    )
    await state.record_push(session, snap.round_id, push.event, push.at, {r.unit: r.rank for r in snap.rows})
    return list(sends)


# --- admin actions: the same functions for chat and the CLI -------------------------------


class QuietNow(DomainError):
    """A send asked for in quiet hours: refused, saying when it may go."""

    def __init__(self, what: str, quiet: QuietHours, allowed: datetime) -> None:
        self.allowed = allowed
        super().__init__(f"现在是免打扰时段（{quiet}），{what}未发出；请在{fmt_minute(allowed)}以后再发。")


class NoSuchRound(DomainError):
    """An admin named a round that is not open."""

    def __init__(self, round_id: int) -> None:
        self.round_id = round_id
        super().__init__(f"没有进行中的第{round_id}轮考核（提醒只对进行中的考核有效）")


@dataclass(frozen=True, slots=True)
class UrgeReport:
    """What a 催办 did: told whom, and whom it left alone because they were just reminded."""

    departments: int = 0  # departments with someone reminded now
    persons: int = 0  # reminders queued now (one per person)
    skipped_departments: int = 0  # departments whose every recipient was just reminded
    skipped_persons: int = 0  # reminded (or snoozed) within the hour: not sent again
    left: tuple[tuple[str, int], ...] = ()  # (department, tasks left), slowest first, those reminded now


async def urge(session: AsyncSession, s: Schedules, now: datetime, round_id: int | None = None) -> UrgeReport:
    """催办: the schedules' reminder card now to every unfinished department of the open round(s).

    Exactly what the scheduled slot sends: the card listing what is left,
    with 继续评分 and 稍后提醒, to the department's scorers, and to its heads
    too once it is overdue.  Nobody gets two reminders within an hour
    (``URGE_WINDOW``): a person reminded in that time by a slot, a 稍后提醒
    follow-up or an earlier 催办 (from chat or the CLI), or who snoozed, is
    skipped; a 催办 within the hour before a planned slot goes under that
    slot's key, so the slot is not sent again.  Refused in quiet hours
    (``QuietNow``) and for a paused round.  Writes outbox rows in the
    caller's transaction.
    """
    quiet = s.config.quiet
    if quiet.contains(now):
        raise QuietNow("催办", quiet, next_allowed(now, quiet))
    snaps = [x for x in await s.source.snapshots(session, now) if x.is_open]
    if round_id is None and not snaps:
        raise DomainError("目前没有进行中的考核，无需催办。")
    if round_id is not None:
        snaps = [x for x in snaps if x.round_id == round_id]
        if not snaps:
            raise NoSuchRound(round_id)
    paused = await state.paused_rounds(session)
    for snap in snaps:
        if snap.round_id in paused:
            raise DomainError(
                f"“{snap.state.info.title}”的提醒已暂停，催办未发出；"
                f"需要时先恢复提醒（发“恢复提醒”或 scorebot schedule resume {snap.round_id}）"
            )
    policies = await state.round_policies(session)
    snoozed = {t for t, until in (await state.snoozes_since(session, now)).items() if until > now}
    counts = Counter[str]()
    skipped = Counter[str]()
    left: dict[str, int] = {}
    for snap in snaps:
        config = config_for(s.config, policies.get(snap.round_id))
        recent = await _reminded_since(session, snap.round_id, now - URGE_WINDOW)
        info = snap.state.info
        for progress in snap.state.progress:
            if progress.finished:
                continue
            dept = progress.department
            who = s.recipients.get(dept, Recipients())
            plan = [
                slot
                for slot in reminder_plan(
                    progress.deadline,
                    until=now + URGE_WINDOW,
                    policy=config.policy,
                    quiet=config.quiet,
                    is_workday=config.is_workday,
                )
                if slot.at > snap.state.opened_at
            ]
            slot = urge_slot(now, plan)
            stage = stage_at(now, progress.deadline, is_workday=config.is_workday)
            sends = [(Kind.REMIND, t, reminder_card(info, progress, stage, now)) for t in who.members]
            if stage is Stage.OVERDUE and config.policy.escalate_overdue:
                head_card = reminder_card(info, progress, stage, now, to_head=True)
                sends += [(Kind.REMIND_HEAD, t, head_card) for t in escalation_heads(who)]
            for kind, target, card in sends:
                send = Send(kind, send_key(snap.round_id, kind, target, slot), target, card, now)
                if target in snoozed or target in recent or await outbox.enqueue(session, send.outbound(), now) is None:
                    skipped[dept] += 1
                else:
                    counts[dept] += 1
            if counts[dept]:
                left[dept] = progress.remaining
    return UrgeReport(
        departments=len(counts),
        persons=sum(counts.values()),
        skipped_departments=len([d for d in skipped if not counts[d]]),
        skipped_persons=sum(skipped.values()),
        left=tuple(sorted(left.items(), key=lambda item: (-item[1], item[0]))),
    )


async def _reminded_since(session: AsyncSession, round_id: int, since: datetime) -> set[Target]:
    """Who got a reminder of the round (any kind: slot, follow-up, 催办, head) queued after ``since``."""
    kinds = (Kind.REMIND, Kind.REMIND_HEAD, Kind.SNOOZED)
    rows = await session.execute(
        select(OutboxRow.target_platform, OutboxRow.target_kind, OutboxRow.target_id).where(
            OutboxRow.created_at > since,
            or_(*(OutboxRow.dedupe_key.startswith(f"r{round_id}:{k.value}:", autoescape=True) for k in kinds)),
        )
    )
    return {Target(platform=Platform(p), kind=TargetKind(k), id=i) for p, k, i in rows}


async def remind_now(rt: ScheduleRuntime, round_id: int | None = None) -> UrgeReport:
    """``scorebot remind-now``: ``urge`` in a transaction of its own."""
    async with rt.sessions() as session, session.begin():
        return await urge(session, rt.schedules, rt.clock(), round_id)


async def snooze(
    session: AsyncSession, target: Target, now: datetime, config: ScheduleConfig, hours: float = 2
) -> datetime:
    """稍后提醒: hold ``target``'s reminders for ``hours``, whatever their role; returns until when.

    Never into quiet hours or a day off: it comes back at the next allowed
    minute of a working day.
    """
    until = snooze_until(now, hours, config.quiet, is_workday=config.is_workday)
    await state.set_snooze(session, target, until, now)
    return until


async def is_paused(session: AsyncSession, round_id: int) -> bool:
    return round_id in await state.paused_rounds(session)


async def check_open(session: AsyncSession, s: Schedules, round_id: int, now: datetime) -> None:
    """NoSuchRound unless ``round_id`` is an open round."""
    if not any(x.round_id == round_id and x.is_open for x in await s.source.snapshots(session, now)):
        raise NoSuchRound(round_id)


async def pause(session: AsyncSession, s: Schedules, round_id: int, by: str, now: datetime) -> bool:
    """Pause an open round's reminders (notices and the digest go on); False if already paused."""
    await check_open(session, s, round_id, now)
    return await state.pause_round(session, round_id, by, now)


async def resume(session: AsyncSession, s: Schedules, round_id: int, now: datetime) -> bool:
    """Resume a round's reminders; slots missed meanwhile are not sent afterwards."""
    if round_id not in await state.paused_rounds(session):
        await check_open(session, s, round_id, now)
        return False
    return await state.resume_round(session, round_id)


async def set_policy(
    session: AsyncSession, s: Schedules, round_id: int, values: Mapping[str, Any], by: str, now: datetime
) -> ReminderPolicy:
    """A round's own reminder settings over the defaults (``policy_from``'s keys); returns the policy."""
    await check_open(session, s, round_id, now)
    policy = policy_from(values, s.config.policy)
    check_send_times(policy, s.config.quiet)
    await state.set_round_policy(session, round_id, values, by, now)
    return policy


async def round_config(session: AsyncSession, s: Schedules, round_id: int) -> ScheduleConfig:
    """The configuration a round's reminders follow (the defaults with its own settings)."""
    return config_for(s.config, (await state.round_policies(session)).get(round_id))


async def upcoming_sends(
    session: AsyncSession, s: Schedules, now: datetime, within: timedelta, round_id: int | None = None
) -> list[Upcoming]:
    """Sends planned in (``now``, ``now + within``] for the open round(s), in time order."""
    found: list[Upcoming] = []
    paused = await state.paused_rounds(session)
    policies = await state.round_policies(session)
    for snap in await s.source.snapshots(session, now):
        if snap.is_open and round_id in (None, snap.round_id):
            round_state = replace(snap.state, paused=snap.round_id in paused)
            config = config_for(s.config, policies.get(snap.round_id))
            found += upcoming(round_state, s.recipients, s.leader_groups, now, now + within, config)
    return sorted(found, key=lambda u: (u.at, str(u.round_id), u.department or ""))


async def calendar_warning(session: AsyncSession, s: Schedules, now: datetime, round_id: int | None = None) -> str:
    """The one-line warning when an open round's reminders fall in a year whose holidays are not loaded."""
    deadlines = [
        p.deadline
        for snap in await s.source.snapshots(session, now)
        if snap.is_open and round_id in (None, snap.round_id)
        for p in snap.state.progress
    ]
    return calendar_gap_line(calendar_gaps(s.config, now, deadlines))


async def list_upcoming(rt: ScheduleRuntime, within: timedelta = timedelta(days=3)) -> list[Upcoming]:
    """``scorebot schedule list``: ``upcoming_sends`` for every open round."""
    async with rt.sessions() as session:
        return await upcoming_sends(session, rt.schedules, rt.clock(), within)


def parse_groups(specs: Sequence[str]) -> tuple[Target, ...]:
    """Leaders' groups from settings: ``"wecom:leaders"`` → a group target."""
    targets = []
    for spec in specs:
        platform, _, group = spec.partition(":")
        if platform not in {p.value for p in Platform} or not group:
            raise ConfigError(f"领导群配置“{spec}”有误：应写作 平台:群标识，如 wecom:leaders")
        targets.append(Target.group(Platform(platform), group))
    return tuple(targets)
