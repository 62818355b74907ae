"""Benchmark (not a test): a scorer's effort, and the handler's time per message.

1. Effort: messages and taps for 市消防救援支队 to score part 12 (32 units,
   four of them below the max with a reason) by walking the cards, and by
   the fast path (``12 全部满分`` + the exceptions in one message).
2. Speed: handler time per message (the router, inside the event's
   transaction) on a database holding a whole round: every department's
   scores and a few adjustments, then a mix of scorer, leader and admin messages.

Everything runs as in production, over the sandbox routes on loopback:
dedupe, per-user dispatch, the router, storage, the outbox.

    python bench/scoring_effort.py            # SQLite file in a temporary directory
    python bench/scoring_effort.py --pg URL   # PostgreSQL (the database is emptied first)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from handlers.base import Context, Handler
from handlers.router import make_router
from scoring_core.assignments import assignments
from scoring_core.directory import Directory, Role
from scoring_core.points import fmt
from storage.files import load_directory, load_scheme
from tests.handlers.dialogue import SAMPLE_DIRECTORY, Chat, Clock, SandboxChat

FIRE = "d27a"
BELOW = {
    "市教育局": "3.5 演练未按期",
    "市民政局": "3 台账不全",
    "市房管局": "3.5 隐患整改慢",
    "市医保局": "2 未组织演练",
}


class Timed:
    """The router, timed per message and by what was said (first word)."""

    def __init__(self, inner: Handler) -> None:
        self.inner = inner
        self.times: dict[str, list[float]] = defaultdict(list)

    async def __call__(self, ctx: Context) -> None:
        said = ctx.event.action_key or ctx.event.text
        kind = said.split()[0] if said.split() else "?"
        started = time.perf_counter()
        try:
            await self.inner(ctx)
        finally:
            self.times[kind].append(time.perf_counter() - started)


async def _reset_pg(url: str) -> None:
    from sqlalchemy import text

    from storage.engine import create_engine

    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


class Run:
    def __init__(self, chat: Chat) -> None:
        self.chat = chat
        self.messages = 0
        self.taps = 0

    async def say(self, user: str, text: str) -> str:
        self.messages += 1
        return await self.chat.say(user, text)

    async def tap(self, user: str, key: str) -> str:
        self.taps += 1
        return await self.chat.tap(user, key)


async def _walk(chat: Chat) -> Run:
    run = Run(chat)
    card = await run.say(FIRE, "评分 12")
    while "单位：" in card:
        unit = card.split("单位：", 1)[1].split("\n", 1)[0]
        if unit in BELOW:
            value, reason = BELOW[unit].split(" ", 1)
            if any(key.split(" @")[0] == value for key in chat.person(FIRE).keys):
                await run.tap(FIRE, value)  # a quick-value button
                card = await run.say(FIRE, reason)
            else:  # no button for it: typed with its reason
                card = await run.say(FIRE, f"{value} {reason}")
        else:
            card = await run.tap(FIRE, "满分")
    return run


async def _fast(chat: Chat) -> Run:
    run = Run(chat)
    lines = "\n".join(f"{unit} {what}" for unit, what in BELOW.items())
    await run.say(FIRE, f"12 全部满分\n{lines}")
    return run


def _scorer(directory: Directory, department: str) -> str:
    for role in (Role.SCORER, Role.HEAD, Role.ADMIN):
        for m in directory.department(department).members:
            if m.role is role and "sandbox" in m.ids:
                return m.ids["sandbox"]
    raise LookupError(department)


async def _whole_round(chat: Chat, directory: Directory) -> None:
    scheme = load_scheme()
    for dept in directory.departments:
        for a in assignments(scheme, directory, dept.name):
            if dept.name == "市消防救援支队":
                continue
            first = a.units[0]
            await chat.say(
                _scorer(directory, dept.name),
                f"{a.part.code} 全部满分\n{first} {fmt(a.part.max - Decimal('0.5'))} 台账不全",
            )
    await chat.say("admin", "加分 市教育局 B1 2 经验获市委领导批示")
    await chat.say("d114a", "扣分 市房管局 D9 3 王某-案1 班子成员违纪")
    await chat.say("d24a", "扣分 市城管局 D8 重大安全事故")


async def main(pg: str | None) -> None:
    directory = load_directory(load_scheme())
    with tempfile.TemporaryDirectory() as tmp:
        url = pg or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        if pg:
            await _reset_pg(pg)
        timed = Timed(make_router())
        async with SandboxChat(SAMPLE_DIRECTORY).running(url, Clock(), handler=timed) as chat:
            await chat.say("admin", "开启考核 12月20日")
            walk = await _walk(chat)
            for _ in range(32):  # back to an unscored part 12 for the fast path
                await chat.say(FIRE, "撤销")
            fast = await _fast(chat)
            backend = "PostgreSQL" if pg else "SQLite"
            print(f"Effort, part 12 for 32 units (4 below the max, with reasons), {backend}:")
            print(f"  walking the cards: {walk.messages} typed + {walk.taps} taps = {walk.messages + walk.taps}")
            print(f"  fast path:         {fast.messages} typed + {fast.taps} taps = {fast.messages + fast.taps}")
            await _whole_round(chat, directory)
            timed.times.clear()
            leader = "leader1"
            for _ in range(3):
                await chat.say(FIRE, "评分 12")
                for _ in range(10):
                    await chat.tap(FIRE, "满分")
                await chat.say(FIRE, "退出")
                await chat.say(FIRE, "核对 12")
                await chat.say(FIRE, "教育局 3.5 演练未按期\n市民政局 3 台账不全")
                await chat.say(FIRE, "任务")
                await chat.say(leader, "排名")
                await chat.say(leader, "明细 房管局")
                await chat.say(leader, "进度")
                await chat.say("admin", "导出")
            print("Handler time per message on a whole round's database (ms: median / max, n):")
            for kind, samples in sorted(timed.times.items(), key=lambda kv: -statistics.median(kv[1])):
                ms = [s * 1000 for s in samples]
                print(f"  {kind:<8} {statistics.median(ms):7.1f} / {max(ms):7.1f}  n={len(ms)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg", help="a PostgreSQL URL to run on instead of SQLite (emptied first)")
    asyncio.run(main(parser.parse_args().pg))
