"""The scoring migration creates exactly what the models describe, on every backend."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.models import Base, scoring

SCORING_TABLES = {
    scoring.Round.__tablename__,
    scoring.RoundDeadline.__tablename__,
    scoring.Score.__tablename__,
    scoring.Adjustment.__tablename__,
    scoring.Submission.__tablename__,
    scoring.AuditRow.__tablename__,
}


def _table_of(diff: Any) -> str | None:
    # compare_metadata yields tuples, or lists of tuples for column modifications
    op = diff[0] if isinstance(diff, list) else diff
    for part in op[1:]:
        name = getattr(part, "name", None) if not isinstance(part, str) else None
        table = getattr(part, "table", None)
        if table is not None:
            return str(table.name)
        if name in SCORING_TABLES:
            return str(name)
    if isinstance(op[2], str):  # ("modify_type", schema, table, column, ...)
        return op[2]
    return None


def _diffs(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return [d for d in compare_metadata(context, Base.metadata) if _table_of(d) in SCORING_TABLES]


async def test_migration_matches_models(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        diffs = await conn.run_sync(_diffs)
    assert diffs == []


async def test_migration_creates_every_scoring_table(engine: AsyncEngine) -> None:
    def names(connection: Connection) -> set[str]:
        return set(inspect(connection).get_table_names())

    async with engine.connect() as conn:
        tables = await conn.run_sync(names)
    assert SCORING_TABLES - tables == set()
