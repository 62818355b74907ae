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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.events import Platform
from bot.messages import Target
from schedules import chart
from schedules.content import reminder_card
from schedules.plan import (
    Kind,
    Missed,
    Recipients,
    ScheduleConfig,
    Send,
    Upcoming,
    plan_ranking_push,
    plan_round,
    send_key,
    stage_at,
    upcoming,
)
from schedules.source import RoundSnapshot, RoundSource
from schedules.timing import TZ, next_allowed, snooze_until
from scoring_core.errors import ConfigError, DomainError
from storage import outbox
from storage import schedules as state
from storage.models.messaging import OutboxRow

log = logging.getLogger(__name__)

#: The one lease all scheduler processes compete for.
LEASE = "schedules"
#: Dedupe keys looked up per query (well under every backend's parameter limit).
_KEY_BATCH = 500


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


@dataclass(frozen=True, slots=True)
class SweepReport:
    """What one sweep did; logged, and what tests look at."""

    planned: bool  # False: another process holds the lease, or quiet hours
    enqueued: int = 0
    duplicates: int = 0  # planned sends whose key was already in the outbox
    missed: int = 0
    pushed: tuple[str, ...] = ()


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
    async with rt.sessions() as session, session.begin():
        last = await state.last_run(session, LEASE)
        paused = await state.paused_rounds(session)
        snoozes = await state.snoozes_since(session, (last or now) - rt.config.grace)
        for snap in await rt.source.snapshots(session, now):
            sends: list[Send] = []
            if snap.is_open:
                round_state = replace(snap.state, paused=snap.round_id in paused)
                plan = plan_round(round_state, rt.recipients, rt.leader_groups, now, last, snoozes, rt.config)
                sends += plan.sends
                for m in plan.missed:
                    log_missed(m)
                missed += len(plan.missed)
            if snap.push is not None and rt.leader_groups:
                done = await state.pushed_events(session, snap.round_id)
                if snap.push.event not in done:
                    sends += await _ranking_sends(session, rt, snap, now)
                    pushed.append(f"{snap.round_id}:{snap.push.event}")
            new, dup = await _enqueue(session, sends, now)
            enqueued += new
            duplicates += dup
        await state.set_last_run(session, LEASE, now)
        await state.clear_snoozes_before(session, now - timedelta(days=2))
    if enqueued or missed or pushed:
        log.info("sweep at %s: %d enqueued, %d already sent, %d missed", now, enqueued, duplicates, missed)
    return SweepReport(True, enqueued, duplicates, missed, tuple(pushed))


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
    info = snap.state.info
    previous = await state.last_pushed_ranks(session, snap.round_id)
    rows = [(r.unit, r.total) for r in snap.rows]
    title = f"{info.title}{'最终排名' if snap.push.final else '暂定排名'}"
    # matplotlib is CPU-bound and its first import reads fonts: keep it off the loop.
    png = await asyncio.to_thread(chart.render_ranking_chart, rows, title)
    workbook = await rt.source.workbook(session, snap.round_id)
    sends = plan_ranking_push(
        info,
        snap.rows,
        rt.leader_groups,
        snap.push.at,
        event=snap.push.event,
        final=snap.push.final,
        previous=previous,
        chart_png=png,
        workbook=workbook,
    )
    await state.record_push(session, snap.round_id, snap.push.event, now, {r.unit: r.rank for r in snap.rows})
    return list(sends)


# --- admin actions -----------------------------------------------------------------------


async def remind_now(rt: ScheduleRuntime, round_id: int | None = None) -> int:
    """催办: a reminder now to every unfinished department, once per hour at most.

    The slot is the current hour, so a second 催办 in the same hour (or the
    same one from another process) adds nothing.  In quiet hours the
    reminders are queued for the first allowed minute.  Returns how many
    messages were newly queued.
    """
    now = rt.clock()
    slot = "urge-" + now.astimezone(TZ).strftime("%Y-%m-%dT%H")
    send_at = next_allowed(now, rt.config.quiet)
    queued = 0
    async with rt.sessions() as session, session.begin():
        paused = await state.paused_rounds(session)
        for snap in await rt.source.snapshots(session, now):
            if not snap.is_open or (round_id is not None and snap.round_id != round_id):
                continue
            if snap.round_id in paused and round_id is None:
                continue  # a paused round is only chased when named
            for progress in snap.state.progress:
                if progress.finished:
                    continue
                stage = stage_at(now, progress.deadline, is_workday=rt.config.is_workday)
                card = reminder_card(snap.state.info, progress, stage, now)
                for target in rt.recipients.get(progress.department, Recipients()).members:
                    send = Send(Kind.REMIND, send_key(snap.round_id, Kind.REMIND, target, slot), target, card, send_at)
                    row_id = await outbox.enqueue(session, send.outbound(), now)
                    if row_id is not None:
                        queued += 1
                        if send_at > now:
                            await outbox.postpone(session, row_id, send_at)
    return queued


async def snooze(
    session: AsyncSession, target: Target, now: datetime, config: ScheduleConfig, hours: float = 2
) -> datetime:
    """稍后提醒: hold ``target``'s reminders for ``hours`` (never into quiet hours); returns until when."""
    until = snooze_until(now, hours, config.quiet)
    await state.set_snooze(session, target, until, now)
    return until


async def pause(session: AsyncSession, round_id: int, by: str, now: datetime) -> bool:
    """Pause a round's reminders (notices and the digest go on); False if already paused."""
    return await state.pause_round(session, round_id, by, now)


async def resume(session: AsyncSession, round_id: int) -> bool:
    """Resume a round's reminders; slots missed meanwhile are not sent afterwards."""
    return await state.resume_round(session, round_id)


async def list_upcoming(rt: ScheduleRuntime, within: timedelta = timedelta(days=3)) -> list[Upcoming]:
    """Sends planned for the next ``within``, every open round, in time order."""
    now = rt.clock()
    found: list[Upcoming] = []
    async with rt.sessions() as session:
        paused = await state.paused_rounds(session)
        for snap in await rt.source.snapshots(session, now):
            if snap.is_open:
                round_state = replace(snap.state, paused=snap.round_id in paused)
                found += upcoming(round_state, rt.recipients, rt.leader_groups, now, now + within, rt.config)
    return sorted(found, key=lambda u: (u.at, str(u.round_id), u.department or ""))


def parse_groups(specs: Sequence[str]) -> tuple[Target, ...]:
    """Leaders' groups from settings: ``"wecom:leaders"`` → a group target."""
    targets = []
    for spec in specs:
        platform, _, group = spec.partition(":")
        if platform not in {p.value for p in Platform} or not group:
            raise ConfigError(f"领导群配置“{spec}”有误：应写作 平台:群标识，如 wecom:leaders")
        targets.append(Target.group(Platform(platform), group))
    return tuple(targets)
