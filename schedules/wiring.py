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
from scoring_core.directory import Directory


def round_source(settings: Settings) -> RoundSource:
    """The rounds the schedules read.

    Until the storage layer's rounds and standings are wired in here, no
    round is reported and the scheduler runs idle.
    """
    return NoRounds()


def build_runtime(
    settings: Settings,
    sessions: async_sessionmaker[Any],
    clock: Clock,
    directory: Directory | None,
    platforms: Sequence[str],
    source: RoundSource | None = None,
) -> ScheduleRuntime:
    recipients = recipients_from_directory(directory, [str(p) for p in platforms]) if directory is not None else {}
    return ScheduleRuntime(
        sessions=sessions,
        source=source or round_source(settings),
        recipients=recipients,
        leader_groups=parse_groups(settings.leader_groups),
        clock=clock,
        config=ScheduleConfig(grace=timedelta(minutes=settings.schedule_grace_minutes)),
    )
