"""Trying the schedule on the sandbox: the leaders' group by default, and the dev clock (调时).

调时 is dev only: off unless SCOREBOT_DEV_CLOCK=true, and then only for admins.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest

from bot.app import SCHEDULER
from bot.clock import DevClock
from bot.events import Platform
from bot.messages import Target
from bot.settings import Settings, load_settings
from handlers.commands import DayTime, SetClock
from handlers.parse import BadCommand, parse_command
from schedules.timing import at_local
from tests.handlers.dialogue import Chat, Clock, SettingsSandboxChat

LEADERS = Target.group(Platform.SANDBOX, "leaders")


def t(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return at_local(date(2026, month, day), time(hour, minute))


def settings(db_url: str = "sqlite+aiosqlite://", **kw: Any) -> Settings:
    return Settings(_env_file=None, database_url=db_url, shutdown_grace_seconds=0, **kw)  # type: ignore[call-arg]


@asynccontextmanager
async def running(db_url: str, clock: Clock, **kw: Any) -> AsyncIterator[Chat]:
    chat = SettingsSandboxChat(lambda url: settings(url, sandbox=True, schedule_sweep_seconds=3600, **kw))
    async with chat.running(db_url, clock):
        yield chat


# --- the leaders' group on the sandbox ---------------------------------------------------


def test_the_sandbox_posts_to_its_leaders_group_unless_told_otherwise() -> None:
    assert settings(sandbox=True).leaders == ["sandbox:leaders"]
    assert settings(sandbox=True, leader_groups=[]).leaders == []  # explicitly none
    assert settings(sandbox=True, leader_groups=["wecom:leaders"]).leaders == ["wecom:leaders"]
    assert settings(sandbox=False).leaders == []


async def test_the_scheduler_on_the_sandbox_has_the_leaders_group(db_url: str) -> None:
    async with running(db_url, Clock(t(9, 30, 10))) as chat:
        assert chat.app[SCHEDULER].runtime.leader_groups == (LEADERS,)


# --- the dev clock -------------------------------------------------------------------------


def test_dev_clock_moves_and_keeps_running_from_there() -> None:
    base = Clock(t(11, 25, 9))
    clock = DevClock(timedelta(hours=1), base)
    moves: list[datetime] = []
    clock.on_move(lambda: moves.append(clock()))
    assert clock() == t(11, 25, 10)
    assert clock.move_to(t(9, 30, 9)) == t(9, 30, 9)
    base.advance(minutes=5)  # time flows on from where it was put
    assert clock() == t(9, 30, 9, 5)
    assert clock.advance(timedelta(days=8)) == t(10, 8, 9, 5)
    assert clock.reset() == t(11, 25, 10, 5)  # the start: the real time plus SCOREBOT_CLOCK_OFFSET
    assert moves == [t(9, 30, 9), t(10, 8, 9, 5), t(11, 25, 10, 5)]
    with pytest.raises(ValueError, match="naive"):
        clock.move_to(datetime(2026, 9, 30, 9))  # noqa: DTZ001 - the point of the test


@pytest.mark.parametrize(
    ("env", "offset"),
    [
        ("-4042207", timedelta(seconds=-4042207)),  # what 调时 prints for a restart
        ("3600", timedelta(hours=1)),
        ("P3D", timedelta(days=3)),
        ("72:00:00", timedelta(hours=72)),
    ],
)
def test_clock_offset_takes_seconds_or_a_duration(monkeypatch: pytest.MonkeyPatch, env: str, offset: timedelta) -> None:
    # Regression: the settings said "or seconds", but a bare number from the
    # environment was refused ("day" identifier in duration not correctly formatted).
    monkeypatch.setenv("SCOREBOT_CLOCK_OFFSET", env)
    assert load_settings(_env_file=None).clock_offset == offset


@pytest.mark.parametrize(
    ("typed", "command"),
    [
        ("调时", SetClock()),
        ("调时 +1天", SetClock(by=timedelta(days=1))),
        ("调时 +2小时", SetClock(by=timedelta(hours=2))),
        ("调时 +30分钟", SetClock(by=timedelta(minutes=30))),
        ("调时 2026-10-08 09:30", SetClock(to=DayTime(10, 8, 2026, time(9, 30)))),
        ("调时 10月8日 9点", SetClock(to=DayTime(10, 8, None, time(9, 0)))),
        ("调时 复原", SetClock(reset=True)),
    ],
)
def test_set_clock_is_parsed(typed: str, command: SetClock) -> None:
    assert parse_command(typed) == command


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("调时 明天", "“明天”看不懂：如“调时 +1天”"),
        ("调时 +1周", "“+1周”看不懂"),
        ("调时 10月8日", "请写到几点"),
    ],
)
def test_set_clock_says_what_it_takes(typed: str, problem: str) -> None:
    with pytest.raises(BadCommand, match=re.escape(problem)):
        parse_command(typed)


async def test_set_clock_is_refused_when_the_dev_clock_is_off(db_url: str) -> None:
    async with running(db_url, Clock(t(9, 30, 10))) as chat:
        assert await chat.say("admin", "调时 +1天") == (
            "调时仅供开发试用，本服务未开启（设置 SCOREBOT_DEV_CLOCK=true 后重启可用）。"
        )
        assert chat.app[SCHEDULER].runtime.clock() == t(9, 30, 10)


async def test_only_an_admin_moves_the_dev_clock(db_url: str) -> None:
    async with running(db_url, Clock(t(9, 30, 10)), dev_clock=True) as chat:
        refused = await chat.say("d24a", "调时 +1天")
        assert "调时" in refused
        assert chat.app[SCHEDULER].runtime.clock() == t(9, 30, 10)


async def test_moving_the_dev_clock_sends_what_falls_due_at_once(db_url: str) -> None:
    real = Clock(t(9, 30, 10))  # the "system clock": it does not move by itself here
    async with running(db_url, real, dev_clock=True) as chat:
        assert await chat.say("admin", "调时") == (
            "现在是 2026年9月30日（周三）10:00（真实时间）。\n调时 +1天 / 调时 2026-10-08 09:30 / 调时 复原"
        )
        await chat.say("admin", "开启考核 10月10日")
        await chat.read("d24a")  # the opening card
        assert await chat.say("admin", "调时 2026-10-08 09:35") == (
            "时钟已调到 2026年10月8日（周四）09:35（比真实时间快7天23小时35分钟）。\n"
            "到点的提醒、日报随即发出。\n"
            "重启后接着走：SCOREBOT_CLOCK_OFFSET=689700"
        )
        # The scheduler's timer is an hour away: the move woke it.  Wait (on the
        # page's long-poll, not a sleep) for the 10-08 09:30 reminder.
        messages: list[dict[str, Any]] = []
        # Each long-poll returns at any delivery (97 reminders go out), so allow for many.
        for _ in range(200):
            response = await chat.client.get(
                "/sandbox/api/messages",
                params={"kind": "user", "id": "d24a", "after": chat.person("d24a").seen, "wait": 3},
            )
            if messages := (await response.json())["messages"]:
                break
        (reminder,) = messages
        assert reminder["view"]["title"] == "评分提醒：距截止还有 2 天"
        assert datetime.fromisoformat(reminder["at"]) == t(10, 8, 9, 35)
        assert await chat.say("admin", "调时 复原") == (
            "时钟已调到 2026年9月30日（周三）10:00（真实时间）。\n到点的提醒、日报随即发出。"
        )
