"""Building the schedules' runtime from settings: one place for the app factory and the CLI."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.clock import Clock
from bot.settings import Settings
from schedules.jobs import ScheduleRuntime, parse_groups
from schedules.plan import ScheduleConfig, recipients_from_directory
from schedules.source import NoRounds, RoundSource
from schedules.storage_source import StorageRounds
from scoring_core.directory import Directory
from scoring_core.scheme import Scheme


def round_source(scheme: Scheme | None, directory: Directory | None) -> RoundSource:
    """The rounds the schedules read: the scoring storage, once a scheme and directory are loaded."""
    if scheme is None or directory is None:
        return NoRounds()
    return StorageRounds(scheme, directory)


def build_runtime(
    settings: Settings,
    sessions: async_sessionmaker[Any],
    clock: Clock,
    scheme: Scheme | None,
    directory: Directory | None,
    platforms: Sequence[str],
    source: RoundSource | None = None,
) -> ScheduleRuntime:
    recipients = recipients_from_directory(directory, [str(p) for p in platforms]) if directory is not None else {}
    return ScheduleRuntime(
        sessions=sessions,
        source=source or round_source(scheme, directory),
        recipients=recipients,
        leader_groups=parse_groups(settings.leaders),
        clock=clock,
        config=ScheduleConfig(grace=timedelta(minutes=settings.schedule_grace_minutes)),
    )
