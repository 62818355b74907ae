"""Messaging storage: the migration matches the models; dedupe and outbox claims hold."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import storage.models  # noqa: F401
from bot.events import EventKind, InboundEvent, Platform
from bot.messages import Button, Card, Outbound, Target, Text
from storage import inbox, outbox
from storage.base import Base
from storage.engine import session_factory
from storage.models.messaging import EventStatus, OutboxStatus

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MESSAGING_TABLES = {"inbound_events", "outbox", "sandbox_deliveries"}


def _event(message_id: str = "m1", **kw: Any) -> InboundEvent:
    return InboundEvent(
        platform=Platform.SANDBOX,
        user_id="zhang",
        kind=EventKind.TEXT,
        message_id=message_id,
        received_at=T0,
        text="帮助",
        **kw,
    )


async def test_migration_creates_what_the_models_declare(engine: AsyncEngine) -> None:
    def _diff(conn: Connection) -> list[Any]:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, Base.metadata)

    async with engine.connect() as conn:
        diff = await conn.run_sync(_diff)

    # other areas' tables are their own tests' business
    ours = [d for d in diff if any(t in repr(d) for t in MESSAGING_TABLES)]
    assert ours == []


async def test_record_is_insert_if_absent(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    event = _event(file_name="a.xlsx", file_data=b"\x00\xff", selected=("1", "2"))
    async with sessions.begin() as s:
        assert await inbox.record(s, event, T0) is True
    async with sessions.begin() as s:
        assert await inbox.record(s, event, T0) is False
        assert await inbox.unhandled(s) == [event]
        await inbox.mark(s, event.dedupe_key, EventStatus.HANDLED, T0)
    async with sessions.begin() as s:
        assert await inbox.unhandled(s) == []


async def test_concurrent_records_of_one_event_store_it_once(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)

    async def one() -> bool:
        async with sessions.begin() as s:
            return await inbox.record(s, _event("race"), T0)

    results = await asyncio.gather(*(one() for _ in range(5)))
    assert sorted(results) == [False, False, False, False, True]


async def test_enqueue_with_a_known_dedupe_key_is_a_no_op(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    target = Target.group(Platform.SANDBOX, "leaders")
    card = Card(title="排名", lines=("1. 甲区",), buttons=(Button(text="明细", key="明细 甲区"),))
    msg = Outbound(target=target, message=card, dedupe_key="rank:2026:leaders")
    async with sessions.begin() as s:
        first = await outbox.enqueue(s, msg, T0)
        assert first is not None
        assert await outbox.enqueue(s, msg, T0) is None
        assert await outbox.enqueue(s, Outbound(target=target, message=Text(content="x")), T0)
    async with sessions.begin() as s:
        row = await outbox.get(s, first)
        assert row is not None
        assert outbox.decode(row) == msg
        assert outbox.target_of(row) == target
        assert row.next_attempt_at == T0  # aware UTC back from either backend


async def test_a_row_is_claimed_once_and_a_stale_lease_is_due_again(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    msg = Outbound(target=Target.user(Platform.SANDBOX, "zhang"), message=Text(content="hi"))
    async with sessions.begin() as s:
        row_id = await outbox.enqueue(s, msg, T0)
    assert row_id is not None
    lease = T0 + timedelta(seconds=60)
    async with sessions.begin() as s:
        assert await outbox.claim(s, row_id, T0, lease) is True
    async with sessions.begin() as s:
        assert await outbox.claim(s, row_id, T0, lease) is False
        assert await outbox.due(s, T0, 10) == []
        later = await outbox.due(s, lease, 10)
        assert [r.id for r in later] == [row_id]
        assert later[0].status == OutboxStatus.SENDING
        assert later[0].attempts == 1


async def test_a_backing_off_row_holds_back_later_rows_to_the_same_target(
    engine: AsyncEngine,
) -> None:
    sessions = session_factory(engine)
    zhang = Target.user(Platform.SANDBOX, "zhang")
    li = Target.user(Platform.SANDBOX, "li")
    async with sessions.begin() as s:
        first = await outbox.enqueue(s, Outbound(target=zhang, message=Text(content="1")), T0)
        await outbox.enqueue(s, Outbound(target=zhang, message=Text(content="2")), T0)
        other = await outbox.enqueue(s, Outbound(target=li, message=Text(content="x")), T0)
    assert first is not None
    async with sessions.begin() as s:
        await outbox.mark_retry(s, first, T0 + timedelta(seconds=30), "busy")
    async with sessions.begin() as s:
        assert [r.id for r in await outbox.due(s, T0, 10)] == [other]
