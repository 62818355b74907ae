"""Benchmark (not a test): a reminder sweep over 10,000 open tasks in 500 departments.

    python bench/reminder_sweep.py [--db URL]

Measures, on a fresh database (a SQLite file by default):
- plan + enqueue time and peak Python memory (tracemalloc) of the sweep
  that opens the round (one notice per scorer) and of an overdue sweep
  (reminders to scorers and heads, plus the leaders' digest pages);
- the time to drain those outbox rows at WeCom's rate limits, computed
  from the outbox's token buckets (bot.ratelimit) with a simulated clock:
  per member 30 per 112 s, per group robot 20 per minute.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time as wallclock
import tracemalloc
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.events import Platform
from bot.messages import Outbound, Target, TargetKind
from bot.ratelimit import RateLimiter
from bot.wecom.constants import MEMBER_RATE, ROBOT_RATE
from schedules import jobs
from schedules.content import DepartmentProgress, PartCount, RoundInfo
from schedules.plan import Recipients, RoundState, ScheduleConfig
from schedules.source import RoundSnapshot
from schedules.timing import at_local, deadline_at
from storage import schedules as state
from storage.engine import create_engine, session_factory
from storage.migrate import upgrade
from storage.models.messaging import OutboxRow

DEPARTMENTS = 500
TASKS_PER_DEPARTMENT = 20  # 2 parts x 10 units: 10,000 open tasks in all
SCORERS = 2
HEADS = 1
TRACE = "--no-trace" not in sys.argv
DEADLINE = deadline_at(date(2020, 10, 14))
INFO = RoundInfo("1", "2020年度平安建设考评", DEADLINE)


@dataclass
class Source:
    snap: RoundSnapshot

    async def snapshots(self, session: AsyncSession, now: datetime) -> Sequence[RoundSnapshot]:
        return (self.snap,)

    async def workbook(self, session: AsyncSession, round_id: int) -> bytes:
        return b""


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def scenario() -> tuple[RoundSnapshot, dict[str, Recipients]]:
    progress = []
    recipients = {}
    for d in range(DEPARTMENTS):
        name = f"部门{d:03d}"
        left = (PartCount(f"{d % 40}.1", "测试项目甲", 10), PartCount(f"{d % 40}.2", "测试项目乙", 10))
        progress.append(DepartmentProgress(name, DEADLINE, TASKS_PER_DEPARTMENT, 0, left))
        members = tuple(Target.user(Platform.WECOM, f"d{d:03d}s{i}") for i in range(SCORERS))
        heads = tuple(Target.user(Platform.WECOM, f"d{d:03d}h{i}") for i in range(HEADS))
        recipients[name] = Recipients(members, heads)
    snap = RoundSnapshot(1, RoundState(INFO, at_local(date(2020, 9, 28), time(10)), tuple(progress)), True)
    return snap, recipients


async def timed_sweep(rt: jobs.ScheduleRuntime) -> tuple[jobs.SweepReport, float, int]:
    if TRACE:
        tracemalloc.start()
    started = wallclock.perf_counter()
    report = await jobs.run_sweep(rt)
    elapsed = wallclock.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory() if TRACE else (0, 0)
    if TRACE:
        tracemalloc.stop()
    return report, elapsed, peak


def drain_seconds(outbounds: Sequence[Outbound]) -> float:
    """When the last row may go, sending in id order through the outbox's token buckets."""
    limiter = RateLimiter()
    waiting: list[tuple[float, Outbound]] = [(0.0, o) for o in outbounds]
    last = 0.0
    while waiting:
        later = []
        for ready, o in waiting:
            key, limit = (
                (f"robot:{o.target.id}", ROBOT_RATE)
                if o.target.kind is TargetKind.GROUP
                else (f"member:{o.target.id}", MEMBER_RATE)
            )
            wait = limiter.try_acquire(key, limit, ready)
            if wait:
                later.append((ready + wait, o))
            else:
                last = max(last, ready)
        waiting = later
    return last


async def main(url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        await upgrade(engine)
        sessions = session_factory(engine)
        snap, recipients = scenario()
        clock = Clock(at_local(date(2020, 9, 28), time(10, 1)))
        groups = (Target.group(Platform.WECOM, "leaders"),)
        rt: Any = jobs.ScheduleRuntime(sessions, Source(snap), recipients, groups, clock, ScheduleConfig())
        async with sessions.begin() as s:
            await state.acquire_lease(s, jobs.LEASE, rt.holder, clock(), clock())
            await state.set_last_run(s, jobs.LEASE, clock())
        print(
            f"{DEPARTMENTS} departments, {DEPARTMENTS * TASKS_PER_DEPARTMENT} open tasks, "
            f"{DEPARTMENTS * SCORERS} scorers, {DEPARTMENTS * HEADS} heads; database {engine.dialect.name}"
        )
        for label, now, last in [
            ("round opened (notices)", at_local(date(2020, 9, 28), time(10, 1)), None),
            (
                "overdue 09:30 (reminders + heads)",
                at_local(date(2020, 10, 15), time(9, 36)),
                at_local(date(2020, 10, 15), time(9, 0)),
            ),
            ("digest 17:30", at_local(date(2020, 10, 15), time(17, 31)), at_local(date(2020, 10, 15), time(17, 0))),
        ]:
            if last is not None:
                async with sessions.begin() as s:
                    await state.set_last_run(s, jobs.LEASE, last)
            clock.now = now
            report, elapsed, peak = await timed_sweep(rt)
            print(
                f"{label}: {report.enqueued} rows in {elapsed:.2f} s "
                f"({report.enqueued / elapsed:.0f}/s), peak memory {peak / 2**20:.1f} MiB"
            )
        async with sessions() as s:
            rows = list(await s.scalars(select(OutboxRow).order_by(OutboxRow.id)))
        outbounds = [Outbound.model_validate_json(r.message) for r in rows]
        started = wallclock.perf_counter()
        drain = drain_seconds(outbounds)
        groups_rows = sum(o.target.kind is TargetKind.GROUP for o in outbounds)
        print(
            f"drain of {len(outbounds)} rows ({groups_rows} to the leaders' robot) at WeCom's limits: "
            f"{drain:.0f} s simulated (computed in {wallclock.perf_counter() - started:.2f} s)"
        )
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", help="database URL (default: a SQLite file in a temporary folder)")
    parser.add_argument("--no-trace", action="store_true", help="time without tracemalloc (it slows Python down)")
    asyncio.run(main(parser.parse_args().db))
