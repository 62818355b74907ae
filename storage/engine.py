"""Engine and session factory: built by the app factory, never at import time."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from scoring_core.errors import ConfigError

_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def normalise_url(url: str) -> str:
    """Accept plain ``sqlite:///`` / ``postgresql://`` URLs and pick the async driver."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError and ValueError variants
        raise ConfigError(f"数据库地址无法解析：{exc}") from exc
    backend = parsed.get_backend_name()
    if backend not in _DRIVERS:
        raise ConfigError(f"不支持的数据库“{backend}”：请用 sqlite 或 postgresql")
    if parsed.drivername != _DRIVERS[backend]:
        parsed = parsed.set(drivername=_DRIVERS[backend])
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # WAL lets readers run while one writer commits; busy_timeout makes a
    # second writer wait instead of failing at once; foreign keys are off by
    # default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(url: str) -> AsyncEngine:
    engine = create_async_engine(normalise_url(url), pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def session_factory(engine: AsyncEngine, *, info: dict[str, Any] | None = None) -> async_sessionmaker[Any]:
    """``info`` is copied into every session (the outbox's wake callback rides there)."""
    return async_sessionmaker(engine, expire_on_commit=False, info=info)
