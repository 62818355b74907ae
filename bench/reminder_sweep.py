"""Benchmark (not a test): the real reminder sweep over 10,000 open tasks in 500 departments.

    python bench/reminder_sweep.py [--db URL] [--no-trace]   # a PostgreSQL --db is emptied first

On a fresh database (a SQLite file by default) holding one open round of a
generated scheme and directory (500 departments, each scoring one part for
20 units: 10,000 open tasks; 2 scorers and 1 head per department on WeCom;
one leaders' group), three sweeps run through ``schedules.jobs.run_sweep``
with the storage-backed source (``StorageRounds``: the round, its deadlines
and ``load_standing`` read from the database, as every real sweep does):

- the round opened: one notice to every scorer and head;
- the first overdue slot (09:30 the day after the deadline): a reminder to
  every scorer and, escalated, every head;
- the 17:30 digest: the leaders' group pages (no new reminders).

Each is timed (plan and enqueue), with peak Python memory (tracemalloc) and
the process's peak RSS after it.  After each, the rows are drained through
the real ``OutboxDispatcher`` with a recording adapter that has WeCom's rate
limits (``bot.wecom.constants``: per member 30 per 112 s, per group robot 20
per minute) on a simulated clock: when nothing is due, the clock jumps to
the next row's time, so the simulated drain time is what the rate limits
impose, and the wall time is the dispatcher's own work (no API latency).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time as wallclock
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiohttp import web
from sqlalchemy import func, select, text

from bot.adapter import Adapter, RateLimit, SendResult
from bot.events import Platform
from bot.messages import Outbound, Target, TargetKind, Text
from bot.outbox import OutboxDispatcher
from bot.wecom.constants import MEMBER_RATE, ROBOT_RATE
from schedules import jobs
from schedules.plan import ScheduleConfig, recipients_from_directory
from schedules.storage_source import StorageRounds
from schedules.timing import at_local, deadline_at
from scoring_core.directory_file import parse_directory
from scoring_core.scheme_file import parse_scheme
from storage import outbox
from storage import schedules as state
from storage.engine import create_engine, session_factory
from storage.migrate import upgrade
from storage.models.messaging import OutboxRow, OutboxStatus
from storage.scoring import open_round
from storage.scoring.records import Actor, Deadline

DEPARTMENTS = 500
UNITS = 20  # each department scores one part for every unit: 500 x 20 = 10,000 open tasks
SCORERS = 2
HEADS = 1
OPENED = at_local(date(2020, 9, 28), time(10))
DEADLINE = deadline_at(date(2020, 10, 14))
BURST_MEMBER = 100  # 30 per 112 s: the last goes after 3 x 112 s = 336 s
BURST_ROBOT = 50  # 20 per 60 s: the last goes after 2 x 60 s = 120 s
T = TypeVar("T")


def scheme_yaml() -> str:
    """500 one-part items of 0.8 points (400 in all), item i scored by department i."""
    items = "\n".join(
        f'      - {{number: "{i}", title: 项目{i}, points: 0.8, '
        f'parts: [{{code: "{i}", max: 0.8, scorers: [部门{i:03d}]}}]}}'
        for i in range(1, DEPARTMENTS + 1)
    )
    return (
        "name: 基准测试考核\nyear: 2020\ntotal: 400\noffice: 市委平安办\nreason_below_max: false\n"
        f"sections:\n  - code: 一\n    title: 全部\n    points: 400\n    items:\n{items}\nadjustments: []\n"
    )


def directory_yaml() -> str:
    units = "\n".join(f"  - name: 单位{u:02d}" for u in range(UNITS))
    departments = []
    for d in range(1, DEPARTMENTS + 1):
        members = [f"      - {{name: 评分员{d}-{i}, role: scorer, wecom: d{d:03d}s{i}}}" for i in range(SCORERS)]
        members += [f"      - {{name: 负责人{d}-{i}, role: head, wecom: d{d:03d}h{i}}}" for i in range(HEADS)]
        departments.append(f"  - name: 部门{d:03d}\n    members:\n" + "\n".join(members))
    office = "  - name: 市委平安办\n    members:\n      - {name: 管理员, role: admin, wecom: admin}"
    return f"units:\n{units}\ndepartments:\n{office}\n" + "\n".join(departments) + "\n"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class RecordingAdapter(Adapter):
    """WeCom's buckets, no wire: records each send at the (simulated) time it was made."""

    platform = Platform.WECOM

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.sent: list[datetime] = []

    def routes(self) -> list[web.RouteDef]:
        return []

    def rate_key(self, outbound: Outbound) -> tuple[str, RateLimit] | None:
        if outbound.target.kind is TargetKind.GROUP:
            return f"wecom:robot:{outbound.target.id}", ROBOT_RATE
        return f"wecom:user:{outbound.target.id}", MEMBER_RATE

    async def send(self, outbound: Outbound) -> SendResult:
        self.sent.append(self.clock())
        return SendResult(platform_message_id=f"m{len(self.sent)}")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def measured(work: Callable[[], Awaitable[T]], trace: bool) -> tuple[T, float, int]:
    if trace:
        tracemalloc.start()
    started = wallclock.perf_counter()
    result = await work()
    elapsed = wallclock.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace else 0
    if trace:
        tracemalloc.stop()
    return result, elapsed, peak


async def drain(sessions: Any, clock: Clock) -> tuple[int, float, float]:
    """Send every pending row through the real dispatcher; (rows sent, simulated s, wall s)."""
    adapter = RecordingAdapter(clock)
    dispatcher = OutboxDispatcher(sessions, {Platform.WECOM: adapter}, clock=clock)
    start = clock.now
    started = wallclock.perf_counter()
    while True:
        await dispatcher.run_once()
        async with sessions() as s:
            next_at = await outbox.next_due_at(s)
        if next_at is None:
            break
        clock.now = max(clock.now, next_at)  # nothing else due before it: jump
    wall = wallclock.perf_counter() - started
    async with sessions() as s:
        failed = await s.scalar(select(func.count()).where(OutboxRow.status == OutboxStatus.FAILED.value))
    assert not failed, f"{failed} rows failed"
    simulated = (max(adapter.sent) - start).total_seconds() if adapter.sent else 0.0
    return len(adapter.sent), simulated, wall


async def main(url: str | None, trace: bool) -> None:
    scheme = parse_scheme(scheme_yaml(), "bench-scheme.yaml")
    directory = parse_directory(directory_yaml(), scheme, "bench-directory.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        if engine.dialect.name == "postgresql":
            async with engine.begin() as conn:  # a fresh database each run, as on SQLite
                await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
        await upgrade(engine)
        sessions = session_factory(engine)
        async with sessions.begin() as s:
            admin = Actor("wecom:admin", "管理员", "市委平安办")
            info = await open_round(s, scheme.name, scheme, scheme_yaml(), [Deadline(DEADLINE)], admin, OPENED)
        clock = Clock(OPENED + timedelta(minutes=1))
        groups = (Target.group(Platform.WECOM, "leaders"),)
        source = StorageRounds(scheme, directory)
        rt = jobs.ScheduleRuntime(
            sessions, source, recipients_from_directory(directory, ["wecom"]), groups, clock, ScheduleConfig()
        )
        async with sessions() as s:
            (snap,) = await source.snapshots(s, clock())
        tasks = sum(p.total for p in snap.state.progress)
        print(
            f"{len(snap.state.progress)} departments, {tasks} open tasks (round {info.id}), "
            f"{DEPARTMENTS * SCORERS} scorers, {DEPARTMENTS * HEADS} heads; database {engine.dialect.name}; "
            f"tracemalloc {'on' if trace else 'off'}"
        )
        async with sessions() as s:
            _, read_s, _ = await measured(lambda: source.snapshots(s, clock()), trace=False)
        print(
            f"storage snapshot alone (round, deadlines, load_standing): {read_s:.2f} s; "
            f"peak RSS before the sweeps {peak_rss_mib():.0f} MiB (the interpreter, libraries, the round set up)"
        )

        for label, now, last in [
            ("round opened (notices)", OPENED + timedelta(minutes=1), OPENED),
            ("overdue 09:30 (reminders + heads)", at_local(date(2020, 10, 15), time(9, 36)), None),
            ("digest 17:30", at_local(date(2020, 10, 15), time(17, 31)), at_local(date(2020, 10, 15), time(17))),
        ]:
            async with sessions.begin() as s:
                await state.acquire_lease(s, jobs.LEASE, rt.holder, clock(), clock())
                await state.set_last_run(s, jobs.LEASE, last or now - timedelta(minutes=10))
            clock.now = now
            report, elapsed, peak = await measured(lambda: jobs.run_sweep(rt), trace)
            sent, simulated, wall = await drain(sessions, clock)
            print(
                f"{label}: {report.enqueued} rows planned and enqueued in {elapsed:.2f} s"
                + (f", peak traced memory {peak / 2**20:.1f} MiB" if trace else "")
                + f", peak RSS {peak_rss_mib():.0f} MiB; drained {sent} rows: {simulated:.0f} s at the rate limits"
                f" (simulated), {wall:.2f} s of dispatcher work"
            )
        # Control: a burst the buckets do bind, so the simulated clock is seen to wait.
        clock.now = at_local(date(2020, 10, 16), time(10))
        async with sessions.begin() as s:
            member = Target.user(Platform.WECOM, "d001s0")
            for n in range(BURST_MEMBER):
                await outbox.enqueue(s, Outbound(target=member, message=numbered(n)), clock())
            for n in range(BURST_ROBOT):
                await outbox.enqueue(s, Outbound(target=groups[0], message=numbered(n)), clock())
        sent, simulated, wall = await drain(sessions, clock)
        print(
            f"control, {BURST_MEMBER} messages to one member and {BURST_ROBOT} to the robot: drained {sent} rows, "
            f"{simulated:.0f} s at the rate limits (simulated), {wall:.2f} s of dispatcher work"
        )
        await engine.dispose()


def numbered(n: int) -> Text:
    return Text(content=f"第{n}条")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", help="database URL (default: a SQLite file in a temporary folder)")
    parser.add_argument("--no-trace", action="store_true", help="time without tracemalloc (it slows Python down)")
    args = parser.parse_args()
    asyncio.run(main(args.db, not args.no_trace))
