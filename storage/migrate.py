"""Run alembic migrations programmatically on an async engine."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from scoring_core.errors import ConfigError
from storage.files import os_reason

SCRIPT_LOCATION = "storage:migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


async def upgrade(engine: AsyncEngine, revision: str = "heads") -> None:
    """Bring the schema to ``revision``; safe to call on every start.

    A database that cannot be opened, or that a newer scorebot migrated, is a
    ConfigError saying so (the server and every CLI command start here).
    """

    def _run(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run)
    except CommandError as exc:  # the database knows a revision this code does not
        raise ConfigError(
            f"数据库的结构比本程序新（{exc}）：它被更新版本的 scorebot 用过。请改用那个版本，"
            "或换一个 SCOREBOT_DATABASE_URL"
        ) from exc
    except (SQLAlchemyError, OSError) as exc:
        where = engine.url.render_as_string(hide_password=True)
        raise ConfigError(
            f"无法打开数据库 {where}：{_reason(exc)}。请检查 SCOREBOT_DATABASE_URL"
            "（SQLite 文件所在的文件夹须存在且可写；PostgreSQL 须能连上）"
        ) from exc


def _reason(exc: BaseException) -> str:
    """The driver's own words, first line only (they carry no secrets: the URL is not in them)."""
    cause = getattr(exc, "orig", None) or exc
    if isinstance(cause, OSError):
        return os_reason(cause)
    return str(cause).splitlines()[0][:200] if str(cause) else type(cause).__name__
