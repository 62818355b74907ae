"""One contract for every TokenStore: in memory and SQL (SQLite, PostgreSQL when set)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.engine import create_engine
from storage.migrate import upgrade
from storage.tokens import MemoryTokenStore, SqlTokenStore, StoredToken, TokenStore
from tests.conftest import _BACKENDS, PG_URL, _reset_postgres

LATER = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", *_BACKENDS])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[TokenStore]:
    if request.param == "memory":
        yield MemoryTokenStore()
        return
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'tokens.db'}"
    else:
        await _reset_postgres(PG_URL)
        url = PG_URL
    engine = create_engine(url)
    await upgrade(engine)
    yield SqlTokenStore(engine)
    await engine.dispose()


async def test_empty_store_has_no_token(store: TokenStore):
    assert await store.get("wecom", "corp/1") is None


async def test_first_write_needs_no_row(store: TokenStore):
    assert await store.replace("wecom", "corp/1", StoredToken("t1", LATER), expected=None)
    assert await store.get("wecom", "corp/1") == StoredToken("t1", LATER)
    # A second "first" write lost the race.
    assert not await store.replace("wecom", "corp/1", StoredToken("t2", LATER), expected=None)


async def test_replace_is_a_compare_and_swap(store: TokenStore):
    await store.replace("wecom", "corp/1", StoredToken("t1", LATER), expected=None)
    later = LATER + timedelta(hours=2)

    assert await store.replace("wecom", "corp/1", StoredToken("t2", later), expected="t1")
    assert not await store.replace("wecom", "corp/1", StoredToken("t3", later), expected="t1")
    assert await store.get("wecom", "corp/1") == StoredToken("t2", later)


async def test_keys_are_separate(store: TokenStore):
    await store.replace("wecom", "corp/1", StoredToken("a", LATER), expected=None)
    await store.replace("dingtalk", "corp/1", StoredToken("b", LATER), expected=None)

    assert (await store.get("wecom", "corp/1")) == StoredToken("a", LATER)
    assert (await store.get("dingtalk", "corp/1")) == StoredToken("b", LATER)
    assert await store.get("wecom", "corp/2") is None


def test_a_stored_token_does_not_print_its_value():
    assert "t1" not in repr(StoredToken("t1", LATER))
