"""Shared fixtures: a migrated database on SQLite always, on PostgreSQL when configured."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from blockbuster import blockbuster_ctx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import create_engine
from storage.migrate import upgrade

PG_URL = os.environ.get("SCOREBOT_TEST_DATABASE_URL", "")

_BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


async def _reset_postgres(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture(params=_BACKENDS)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A URL of an empty database: a SQLite file in tmp_path, or the test PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'scorebot.db'}"
    await _reset_postgres(PG_URL)
    return PG_URL


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated engine on each configured backend."""
    eng = create_engine(db_url)
    await upgrade(eng)
    yield eng
    await eng.dispose()


@pytest.fixture(autouse=True)
def _no_blocking_calls_in_the_event_loop() -> Iterator[None]:
    """Fail a test whose code (our packages, not the test's own) blocks the event loop."""
    with blockbuster_ctx(["bot", "handlers", "scoring_core", "schedules", "storage"]) as bb:
        # Start-up work, done once before anything is served, may block.
        startup = {
            "storage/engine.py": {"create_engine"},
            "storage/migrate.py": {"_run"},  # alembic reads its revision files
            "storage/files.py": {"_bundled", "read_text"},
            "bot/sandbox/adapter.py": {"_load_assets"},
            # the DingTalk SDK runs its own loop on its own thread: it blocks only itself
            "bot/dingtalk/stream.py": {"_run_thread"},
            # asyncpg looks for ~/.pgpass and ~/.postgresql certificates on each new
            # connection (stats; connections are pooled after)
            "asyncpg/connect_utils.py": {"_parse_connect_dsn_and_args"},
        }
        for func in bb.functions.values():
            for path, names in startup.items():
                func.can_block_in(path, names)
        yield
