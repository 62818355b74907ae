"""Dialect-specific statements, picked from the session's bind."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import StorageError


def insert_for(session: AsyncSession, table: Any) -> Any:
    """The dialect's INSERT, which offers ``on_conflict_do_nothing`` on both backends."""
    name = session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise StorageError(f"不支持的数据库类型：{name}")
