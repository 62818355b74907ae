"""The conversation store contract, run against every implementation (memory; SQL on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.events import Platform, UserKey
from handlers.state import IDLE_EXPIRY, Conversation, ConversationStore, MemoryConversations, SqlConversations, Step
from storage.engine import session_factory
from storage.models import Base
from storage.models.conversation import ConversationRow

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
FIRE = UserKey(Platform.SANDBOX, "d27a")
FIRE_WECOM = UserKey(Platform.WECOM, "d27a")

Stores = Callable[[], Any]  # an async context manager yielding a store, one transaction each


@pytest.fixture(params=["memory", "sql"])
def stores(request: pytest.FixtureRequest, engine: AsyncEngine) -> Stores:
    if request.param == "memory":
        memory = MemoryConversations()

        @asynccontextmanager
        async def in_memory() -> AsyncIterator[ConversationStore]:
            yield memory

        return in_memory
    sessions = session_factory(engine)

    @asynccontextmanager
    async def in_sql() -> AsyncIterator[ConversationStore]:
        async with sessions.begin() as session:
            yield SqlConversations(session)

    return in_sql


async def test_saved_state_comes_back_in_the_next_transaction(stores: Stores) -> None:
    state = Conversation(Step.REASON, "34-3.2", 3, pending_unit="市教育局", pending_value=Decimal("27.5"))
    async with stores() as store:
        assert await store.load(FIRE, T0) is None
        await store.save(FIRE, state, T0)
    async with stores() as store:
        assert await store.load(FIRE, T0 + timedelta(minutes=5)) == state
        assert await store.load(FIRE_WECOM, T0) is None  # keyed by platform and user


async def test_save_replaces_and_clear_forgets(stores: Stores) -> None:
    async with stores() as store:
        await store.save(FIRE, Conversation(Step.WALKING, "12", 1), T0)
        await store.save(FIRE, Conversation(Step.CHOSEN, "12"), T0)
    async with stores() as store:
        assert await store.load(FIRE, T0) == Conversation(Step.CHOSEN, "12")
        await store.clear(FIRE)
        await store.clear(FIRE)  # clearing nothing is fine
    async with stores() as store:
        assert await store.load(FIRE, T0) is None


async def test_idle_state_expires_quietly(stores: Stores) -> None:
    async with stores() as store:
        await store.save(FIRE, Conversation(Step.WALKING, "12", 4), T0)
    async with stores() as store:
        assert await store.load(FIRE, T0 + IDLE_EXPIRY) is not None
        await store.save(FIRE, Conversation(Step.WALKING, "12", 5), T0 + IDLE_EXPIRY)  # activity renews it
    async with stores() as store:
        assert await store.load(FIRE, T0 + 2 * IDLE_EXPIRY + timedelta(seconds=1)) is None
    async with stores() as store:
        assert await store.load(FIRE, T0) is None  # gone, not just hidden


def _diffs(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    table = ConversationRow.__tablename__
    return [d for d in compare_metadata(context, Base.metadata) if table in repr(d)]


async def test_migration_matches_the_model(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await conn.run_sync(_diffs) == []
