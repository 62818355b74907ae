"""Scoring repository fixtures: the bundled scheme and directory, an open round, actors, fixed clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from importlib import resources
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from scoring_core.directory import Directory
from scoring_core.directory_file import parse_directory
from scoring_core.scheme import Scheme
from scoring_core.scheme_file import parse_scheme
from storage.engine import session_factory
from storage.scoring import Actor, Deadline, open_round

BEIJING = timezone(timedelta(hours=8))
#: The round opens at 09:00 Beijing time on 1 December; the scorers' deadline is 10 December 18:00.
OPENED = datetime(2026, 12, 1, 9, 0, tzinfo=BEIJING)
DEADLINE = datetime(2026, 12, 10, 18, 0, tzinfo=BEIJING)

ADMIN = Actor("sandbox:wang", "王平安", "市委平安办")
ZHANG = Actor("sandbox:zhang", "张消防", "市消防救援支队")
LI = Actor("sandbox:li", "李消防", "市消防救援支队")

FIRE = "市消防救援支队"


def at(day: int, hour: int = 10, minute: int = 0) -> datetime:
    """A moment in December 2026, Beijing time."""
    return datetime(2026, 12, day, hour, minute, tzinfo=BEIJING)


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


@pytest.fixture(scope="session")
def scheme_text() -> str:
    return resources.files("scoring_core").joinpath("data/scheme-2020-nanchang.yaml").read_text("utf-8")


@pytest.fixture(scope="session")
def scheme(scheme_text: str) -> Scheme:
    return parse_scheme(scheme_text)


@pytest.fixture(scope="session")
def directory(scheme: Scheme) -> Directory:
    text = resources.files("scoring_core").joinpath("data/sample-directory.yaml").read_text("utf-8")
    return parse_directory(text, scheme)


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return session_factory(engine)


@pytest.fixture
async def round_id(sessions: async_sessionmaker[Any], scheme: Scheme, scheme_text: str) -> int:
    """An open round with one deadline for everyone."""
    async with sessions() as session, session.begin():
        info = await open_round(session, "2026年度考核", scheme, scheme_text, [Deadline(DEADLINE)], ADMIN, OPENED)
    return info.id
