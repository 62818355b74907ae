"""The event sink: dedupe, per-user order, cross-user concurrency, failures, resume."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.dispatch import APOLOGY, EventDispatcher, StorageBusy
from bot.events import EventKind, InboundEvent, Platform
from bot.messages import Text
from handlers.base import Context
from scoring_core.errors import DomainError
from storage import inbox, outbox
from storage.engine import create_engine, session_factory
from storage.migrate import upgrade
from storage.models.messaging import EventStatus, InboundEventRow, OutboxRow
from tests.messaging.fakes import T0, FakeClock

WAIT = 5.0  # a safety net for awaits on events, never a sleep


def _event(user: str, text: str, message_id: str | None = None) -> InboundEvent:
    return InboundEvent(
        platform=Platform.SANDBOX,
        user_id=user,
        kind=EventKind.TEXT,
        message_id=message_id or f"{user}-{text}",
        received_at=T0,
        text=text,
    )


async def _replies(sessions: async_sessionmaker[Any]) -> list[tuple[str, str]]:
    async with sessions() as s:
        rows = await s.scalars(select(OutboxRow).order_by(OutboxRow.id))
        return [(r.target_id, outbox.decode(r).message.content) for r in rows]  # type: ignore[union-attr]


async def echo(ctx: Context) -> None:
    await ctx.reply(Text(content=f"收到：{ctx.event.text}"))


async def test_the_same_event_three_times_is_handled_once(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    sink = EventDispatcher(sessions, echo, clock=FakeClock())
    results = [await sink.accept(_event("zhang", "帮助", "m1")) for _ in range(3)]
    await sink.join()
    assert results == [True, False, False]
    assert await _replies(sessions) == [("zhang", "收到：帮助")]


async def test_one_users_events_run_in_order_while_other_users_go_ahead(
    engine: AsyncEngine,
) -> None:
    sessions = session_factory(engine)
    release_first = asyncio.Event()
    first_started = asyncio.Event()
    li_done = asyncio.Event()
    log: list[str] = []

    async def handler(ctx: Context) -> None:
        name = f"{ctx.event.user_id}:{ctx.event.text}"
        log.append(f"start {name}")
        if name == "zhang:1":
            first_started.set()
            await release_first.wait()
        await ctx.reply(Text(content=name))
        log.append(f"end {name}")
        if ctx.event.user_id == "li":
            li_done.set()

    sink = EventDispatcher(sessions, handler, clock=FakeClock())
    await sink.accept(_event("zhang", "1"))
    await sink.accept(_event("zhang", "2"))
    await asyncio.wait_for(first_started.wait(), WAIT)
    await sink.accept(_event("li", "1"))
    await asyncio.wait_for(li_done.wait(), WAIT)
    # li went ahead while zhang's first event is still running; zhang's second waits.
    assert log == ["start zhang:1", "start li:1", "end li:1"]
    release_first.set()
    await sink.join()
    assert log[3:] == ["end zhang:1", "start zhang:2", "end zhang:2"]
    assert sink.active_users == 0  # idle users hold no lock or queue


async def test_a_failing_handler_rolls_back_and_the_user_gets_an_apology(
    engine: AsyncEngine,
) -> None:
    sessions = session_factory(engine)

    async def handler(ctx: Context) -> None:
        await ctx.reply(Text(content="这条不该发出"))
        if ctx.event.text == "bug":
            raise RuntimeError("boom")
        raise DomainError("分值超出范围：本项满分 5 分")

    sink = EventDispatcher(sessions, handler, clock=FakeClock())
    await sink.accept(_event("zhang", "bug"))
    await sink.accept(_event("zhang", "refused"))
    await sink.join()
    assert await _replies(sessions) == [
        ("zhang", APOLOGY),
        ("zhang", "分值超出范围：本项满分 5 分"),
    ]
    async with sessions() as s:
        row = await inbox.get(s, "sandbox:zhang-bug")
    assert row is not None
    assert (row.status, "boom" in (row.last_error or "")) == (EventStatus.FAILED, True)


async def test_a_group_message_is_answered_in_the_group(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    sink = EventDispatcher(sessions, echo, clock=FakeClock())
    event = InboundEvent(
        platform=Platform.SANDBOX,
        user_id="leader",
        kind=EventKind.TEXT,
        message_id="g1",
        received_at=T0,
        text="排名",
        chat_id="leaders",
    )
    await sink.accept(event)
    await sink.join()
    async with sessions() as s:
        (row,) = await s.scalars(select(OutboxRow))
    assert (row.target_kind, row.target_id) == ("group", "leaders")


async def test_events_recorded_but_not_handled_are_handled_after_a_restart(
    engine: AsyncEngine,
) -> None:
    sessions = session_factory(engine)
    never = asyncio.Event()
    started = asyncio.Event()
    both_recorded = asyncio.Event()

    async def hangs(ctx: Context) -> None:
        # Writes only once both events are in: on SQLite its open write would hold up the second.
        await both_recorded.wait()
        await ctx.reply(Text(content="rolled back"))
        started.set()
        await never.wait()

    first = EventDispatcher(sessions, hangs, clock=FakeClock())
    await first.accept(_event("zhang", "1"))
    await first.accept(_event("zhang", "2"))
    both_recorded.set()
    await asyncio.wait_for(started.wait(), WAIT)
    await first.close(grace=0)  # the "crash": the running handler is cancelled
    assert await _replies(sessions) == []

    second = EventDispatcher(sessions, echo, clock=FakeClock())
    assert await second.resume() == 2
    await second.join()
    assert await _replies(sessions) == [("zhang", "收到：1"), ("zhang", "收到：2")]
    assert await second.accept(_event("zhang", "1")) is False


async def test_an_event_that_keeps_crashing_the_process_is_given_up(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    event = _event("zhang", "poison")
    async with sessions.begin() as s:
        await inbox.record(s, event, T0)
        for _ in range(3):
            await inbox.start_attempt(s, event.dedupe_key)
    sink = EventDispatcher(sessions, echo, clock=FakeClock())
    await sink.resume()
    await sink.join()
    assert await _replies(sessions) == [("zhang", APOLOGY)]


async def test_sends_with_one_dedupe_key_are_enqueued_once(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)

    async def handler(ctx: Context) -> None:
        for _ in range(2):
            await ctx.send(ctx.chat, Text(content="每日提醒"), dedupe_key="remind:zhang:1201")

    sink = EventDispatcher(sessions, handler, clock=FakeClock())
    await sink.accept(_event("zhang", "a"))
    await sink.accept(_event("zhang", "b"))
    await sink.join()
    assert await _replies(sessions) == [("zhang", "每日提醒")]


async def test_a_locked_database_answers_busy_at_once_and_the_late_write_still_counts(tmp_path: Path) -> None:
    # Regression: with SQLite locked by another writer the callback waited out the 5 s
    # busy_timeout (WeCom's whole deadline) and answered 500 with a traceback.
    path = tmp_path / "scorebot.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    await upgrade(engine)
    sessions = session_factory(engine)
    sink = EventDispatcher(sessions, echo, clock=FakeClock(), accept_timeout=0.05)
    other_writer = sqlite3.connect(path, isolation_level=None)
    other_writer.execute("BEGIN IMMEDIATE")  # holds the write lock
    try:
        with pytest.raises(StorageBusy):
            await sink.accept(_event("zhang", "帮助", "m1"))
    finally:
        other_writer.execute("COMMIT")
        other_writer.close()
    await asyncio.wait_for(_until_handled(sessions, "sandbox:m1"), WAIT)  # the write landed after all
    assert await sink.accept(_event("zhang", "帮助", "m1")) is False  # the platform's retry: a duplicate
    await sink.join()
    assert await _replies(sessions) == [("zhang", "收到：帮助")]
    await sink.close(grace=1)
    await engine.dispose()


async def _until_handled(sessions: async_sessionmaker[Any], key: str) -> None:
    while True:
        async with sessions() as s:
            status = await s.scalar(select(InboundEventRow.status).where(InboundEventRow.dedupe_key == key))
        if status == EventStatus.HANDLED:
            return
        await asyncio.sleep(0.01)  # waiting for another thread's write, not timing the bot
