"""The schedules over the real scoring storage: a round opened, swept, closed and published."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.events import Platform
from bot.messages import Card, File, Image, Outbound, Target
from schedules import jobs
from schedules.plan import ScheduleConfig, recipients_from_directory
from schedules.storage_source import StorageRounds
from schedules.timing import at_local, deadline_at
from storage.engine import session_factory
from storage.files import load_directory, load_scheme
from storage.models.messaging import OutboxRow
from storage.models.scoring import RoundStatus
from storage.scoring import close_round, open_round, publish_round, reopen_round, set_scores
from storage.scoring.records import Actor, Deadline
from tests.core.conftest import full_marks

ADMIN = Actor("sandbox:admin", "王科长", "市委平安办")
LEADERS = Target.group(Platform.SANDBOX, "leaders")


def t(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return at_local(date(2020, month, day), time(hour, minute))


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_open_round_reminders_then_the_published_ranking(engine: AsyncEngine) -> None:
    scheme = load_scheme()
    directory = load_directory(scheme)
    sessions: Any = session_factory(engine)
    async with sessions.begin() as s:
        opened = await open_round(
            s,
            "2020年度平安建设考评",
            scheme,
            "bundled",
            [Deadline(deadline_at(date(2020, 10, 14)))],
            ADMIN,
            t(10, 9, 9),
        )
    clock = Clock(t(10, 9, 9, 30))
    rt = jobs.ScheduleRuntime(
        sessions=sessions,
        source=StorageRounds(scheme, directory),
        recipients=recipients_from_directory(directory, ["sandbox"]),
        leader_groups=(LEADERS,),
        clock=clock,
        config=ScheduleConfig(spread_minutes=0),
    )
    report = await jobs.run_sweep(rt)
    assert report.planned
    async with sessions() as s:
        rows = {r.dedupe_key: Outbound.model_validate_json(r.message) for r in await s.scalars(select(OutboxRow))}
    notice = rows[f"r{opened.id}:open:sandbox:user:d03a:1"]
    assert isinstance(notice.message, Card)
    assert notice.message.title == "2020年度平安建设考评：评分开始"
    assert notice.message.buttons[0].key == "任务"
    reminder = rows[f"r{opened.id}:remind:sandbox:user:d03a:2020-10-09T09:30"]
    assert isinstance(reminder.message, Card)
    assert reminder.message.title == "评分提醒：距截止还有 5 天"
    assert f"r{opened.id}:remind:sandbox:user:d03head:2020-10-09T09:30" not in rows  # heads only when overdue

    async with sessions.begin() as s:
        await close_round(s, opened.id, ADMIN, t(10, 20, 9))
        await publish_round(s, opened.id, ADMIN, t(10, 20, 10))
    clock.now = t(10, 20, 10, 1)
    report = await jobs.run_sweep(rt)
    assert report.pushed == (f"{opened.id}:published-2020-10-20T10:00",)
    async with sessions() as s:
        pushed = [
            Outbound.model_validate_json(r.message)
            for r in await s.scalars(select(OutboxRow).where(OutboxRow.dedupe_key.like(f"r{opened.id}:ranking:%")))
        ]
    kinds = [type(o.message) for o in pushed]
    assert Image in kinds
    assert File in kinds
    (xlsx,) = [o.message for o in pushed if isinstance(o.message, File)]
    assert xlsx.data.startswith(b"PK")  # a real workbook (zip)
    assert (await jobs.run_sweep(rt)).pushed == ()


async def test_a_round_closed_complete_then_published_is_pushed_once(engine: AsyncEngine) -> None:
    # Regression: closing a complete round pushed "closed", publishing it pushed again.
    scheme = load_scheme()
    directory = load_directory(scheme)
    sessions: Any = session_factory(engine)
    async with sessions.begin() as s:
        opened = await open_round(
            s,
            "2020年度平安建设考评",
            scheme,
            "bundled",
            [Deadline(deadline_at(date(2020, 10, 14)))],
            ADMIN,
            t(10, 9, 9),
        )
        await set_scores(s, opened.id, full_marks(scheme, directory), ADMIN, "sheet", t(10, 9, 10))
    clock = Clock(t(10, 20, 9, 1))
    rt = jobs.ScheduleRuntime(
        sessions=sessions,
        source=StorageRounds(scheme, directory),
        recipients=recipients_from_directory(directory, ["sandbox"]),
        leader_groups=(LEADERS,),
        clock=clock,
        config=ScheduleConfig(spread_minutes=0),
    )
    async with sessions.begin() as s:
        await close_round(s, opened.id, ADMIN, t(10, 20, 9))
    assert (await jobs.run_sweep(rt)).pushed == (f"{opened.id}:final-2020-10-20T09:00",)

    async with sessions.begin() as s:
        await publish_round(s, opened.id, ADMIN, t(10, 20, 10))
    clock.now = t(10, 20, 10, 1)
    assert (await jobs.run_sweep(rt)).pushed == ()
    async with sessions() as s:
        keys = [
            r.dedupe_key
            for r in await s.scalars(select(OutboxRow).where(OutboxRow.dedupe_key.like(f"r{opened.id}:ranking:%")))
        ]
    assert sorted(keys) == [
        f"r{opened.id}:ranking:sandbox:group:leaders:final-2020-10-20T09:00#chart",
        f"r{opened.id}:ranking:sandbox:group:leaders:final-2020-10-20T09:00#md1",
        f"r{opened.id}:ranking:sandbox:group:leaders:final-2020-10-20T09:00#xlsx",
    ]


async def test_a_push_shows_rank_changes_since_the_digest_and_a_correction_since_the_last_push(
    engine: AsyncEngine,
) -> None:
    # Regression: a round was pushed once and every push was its first (首次发布): the
    # changes since the last push could never show, nor could a corrected ranking go out.
    scheme = load_scheme()
    directory = load_directory(scheme)
    sessions: Any = session_factory(engine)
    scores = full_marks(scheme, directory)
    first = scores[0]
    lowered = replace(first, value=first.value - 3, note="台账不全")
    async with sessions.begin() as s:
        opened = await open_round(
            s,
            "2020年度平安建设考评",
            scheme,
            "bundled",
            [Deadline(deadline_at(date(2020, 10, 14)))],
            ADMIN,
            t(10, 9, 9),
        )
        await set_scores(s, opened.id, [lowered if e == first else e for e in scores], ADMIN, "sheet", t(10, 9, 10))
    clock = Clock(t(10, 14, 17, 30))
    rt = jobs.ScheduleRuntime(
        sessions=sessions,
        source=StorageRounds(scheme, directory),
        recipients=recipients_from_directory(directory, ["sandbox"]),
        leader_groups=(LEADERS,),
        clock=clock,
        config=ScheduleConfig(spread_minutes=0),
    )

    async def pushed_markdown() -> list[str]:
        async with sessions() as s:
            rows = await s.scalars(select(OutboxRow).where(OutboxRow.dedupe_key.like(f"r{opened.id}:ranking:%#md1")))
            return [Outbound.model_validate_json(r.message).message.content for r in rows]  # type: ignore[union-attr]

    def line_of(markdown: str, unit: str) -> str:
        return next(line for line in markdown.splitlines() if f". {unit} " in line)

    await jobs.run_sweep(rt)  # the 17:30 digest, its ranks kept
    async with sessions.begin() as s:
        await close_round(s, opened.id, ADMIN, t(10, 14, 18))
    clock.now = t(10, 14, 18, 1)
    await jobs.run_sweep(rt)
    (final,) = await pushed_markdown()
    assert final.splitlines()[1] == "10月14日 18:00发布 · 共 32 个单位 · 首次发布 · 名次对比10月14日 17:30进度日报"
    assert line_of(final, first.unit).endswith("持平")

    # 解锁 after publishing: the round opens again, the score is corrected, closed again.
    async with sessions.begin() as s:
        await publish_round(s, opened.id, ADMIN, t(10, 15, 9))
    async with sessions.begin() as s:
        reopened = await reopen_round(s, opened.id, ADMIN, t(10, 15, 10))
        assert reopened.status is RoundStatus.OPEN
        await set_scores(s, opened.id, [first], ADMIN, "chat", t(10, 15, 10, 5))
        await close_round(s, opened.id, ADMIN, t(10, 15, 11))
    clock.now = t(10, 15, 11, 1)
    assert (await jobs.run_sweep(rt)).pushed == (f"{opened.id}:final-2020-10-15T11:00",)
    _, corrected = await pushed_markdown()
    assert corrected.splitlines()[1] == (
        "10月15日 11:00发布 · 共 32 个单位 · 第2次发布（更正） · 名次对比10月14日 18:00发布的排名"
    )
    assert "↑" in line_of(corrected, first.unit)
