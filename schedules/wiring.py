"""Building the schedules from settings: one place for the app factory and the CLI."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.clock import Clock
from bot.settings import Settings
from schedules.holidays import load_calendar
from schedules.jobs import ScheduleRuntime, Schedules, parse_groups
from schedules.plan import ScheduleConfig, recipients_from_directory
from schedules.source import NoRounds, RoundSource
from schedules.storage_source import StorageRounds
from schedules.timing import parse_quiet_hours, policy_from
from scoring_core.directory import Directory
from scoring_core.scheme import Scheme


def round_source(scheme: Scheme | None, directory: Directory | None) -> RoundSource:
    """The rounds the schedules read: the scoring storage, once a scheme and directory are loaded."""
    if scheme is None or directory is None:
        return NoRounds()
    return StorageRounds(scheme, directory)


def schedule_config(settings: Settings) -> ScheduleConfig:
    """Quiet hours, the reminder policy defaults, the grace window and the calendar, from settings.

    Reads the holiday override file (SCOREBOT_HOLIDAYS_PATH): a bad one stops the start.
    """
    calendar = load_calendar(settings.holidays_path)
    return ScheduleConfig(
        policy=policy_from(settings.reminder_policy),
        quiet=parse_quiet_hours(settings.quiet_hours),
        grace=timedelta(minutes=settings.schedule_grace_minutes),
        is_workday=calendar.is_working_day,
        calendar=calendar,
    )


def build_schedules(
    settings: Settings,
    scheme: Scheme | None,
    directory: Directory | None,
    platforms: Sequence[str],
    source: RoundSource | None = None,
) -> Schedules:
    recipients = recipients_from_directory(directory, [str(p) for p in platforms]) if directory is not None else {}
    return Schedules(
        source=source or round_source(scheme, directory),
        recipients=recipients,
        leader_groups=parse_groups(settings.leaders),
        config=schedule_config(settings),
    )


def build_runtime(
    settings: Settings,
    sessions: async_sessionmaker[Any],
    clock: Clock,
    scheme: Scheme | None,
    directory: Directory | None,
    platforms: Sequence[str],
    source: RoundSource | None = None,
) -> ScheduleRuntime:
    return ScheduleRuntime.of(build_schedules(settings, scheme, directory, platforms, source), sessions, clock)
