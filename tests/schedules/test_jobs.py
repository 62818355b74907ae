"""Sweeps over a real database and outbox, with a moved clock (never a sleep).

Runs on SQLite always and on PostgreSQL when SCOREBOT_TEST_DATABASE_URL is
set: restarts, two schedulers on one database, catch-up, snooze, pause,
催办 and the ranking push each end in exactly the outbox rows expected.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.events import Platform
from bot.messages import Card, File, Image, Markdown, Outbound, Target
from schedules import jobs
from schedules.content import DepartmentProgress, PartCount, RankRow, RoundInfo
from schedules.plan import Recipients, RoundState, ScheduleConfig
from schedules.scheduler import SWEEP_JOB_ID, Scheduler  # apscheduler reads its metadata on import: not in a test
from schedules.source import RankingEvent, RoundSnapshot
from schedules.timing import at_local, deadline_at
from scoring_core.errors import DomainError
from storage import schedules as state
from storage.engine import session_factory
from storage.models.messaging import OutboxRow


def t(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return at_local(date(2020, month, day), time(hour, minute))


DEADLINE = deadline_at(date(2020, 10, 14))
INFO = RoundInfo("7", "2020年度平安建设考评", DEADLINE)
ZHANG = Target.user(Platform.SANDBOX, "zhang")
LI = Target.user(Platform.SANDBOX, "li")
HEAD = Target.user(Platform.SANDBOX, "wang")
ZHAO = Target.user(Platform.SANDBOX, "zhao")
LEADERS = Target.group(Platform.SANDBOX, "leaders")
RECIPIENTS = {"市委政法委": Recipients((ZHANG, LI), (HEAD,)), "市公安局": Recipients((ZHAO,))}
ROWS = (RankRow(1, "东湖区", Decimal("95.5")), RankRow(2, "西湖区", Decimal("93")))


def round_state(done: int = 20) -> RoundState:
    return RoundState(
        info=INFO,
        opened_at=t(9, 28, 10),
        progress=(
            DepartmentProgress("市委政法委", DEADLINE, 34, done, (PartCount("4.2", "新媒体建设", 34 - done),)),
            DepartmentProgress("市公安局", DEADLINE, 10, 5, (PartCount("6", "", 5),)),
        ),
    )


@dataclass
class FakeSource:
    """Rounds as the storage layer would report them; tests change them between sweeps."""

    snaps: list[RoundSnapshot] = field(default_factory=lambda: [RoundSnapshot(7, round_state(), True)])
    workbooks: int = 0

    async def snapshots(self, session: AsyncSession, now: datetime) -> Sequence[RoundSnapshot]:
        return self.snaps

    async def workbook(self, session: AsyncSession, round_id: int) -> bytes:
        self.workbooks += 1
        return b"PK-xlsx"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return session_factory(engine)


def runtime(
    sessions: async_sessionmaker[Any], clock: Clock, source: FakeSource | None = None, **kw: Any
) -> jobs.ScheduleRuntime:
    return jobs.ScheduleRuntime(
        sessions=sessions,
        source=source or FakeSource(),
        recipients=RECIPIENTS,
        leader_groups=(LEADERS,),
        clock=clock,
        config=ScheduleConfig(spread_minutes=0, **kw),
    )


async def outbox_rows(sessions: async_sessionmaker[Any]) -> list[tuple[str, Outbound]]:
    async with sessions() as s:
        rows = await s.scalars(select(OutboxRow).order_by(OutboxRow.id))
        return [(r.dedupe_key or "", Outbound.model_validate_json(r.message)) for r in rows]


async def keys(sessions: async_sessionmaker[Any]) -> list[str]:
    return [k for k, _ in await outbox_rows(sessions)]


async def set_last_run(sessions: async_sessionmaker[Any], at: datetime | None) -> None:
    """Pretend the previous process last swept at ``at``."""
    async with sessions.begin() as s:
        await state.acquire_lease(s, jobs.LEASE, "earlier-process", at or t(1, 1, 0), at or t(1, 1, 0))
        if at is not None:
            await state.set_last_run(s, jobs.LEASE, at)


def reminder_keys(all_keys: list[str]) -> list[str]:
    return [k for k in all_keys if ":remind" in k or ":snooze:" in k]


# --- the stages end to end -----------------------------------------------------------------


async def test_first_sweep_sends_notices_and_the_due_reminder_once(sessions: async_sessionmaker[Any]) -> None:
    await set_last_run(sessions, t(10, 9, 9, 29))
    clock = Clock(t(10, 9, 9, 30))
    report = await jobs.run_sweep(runtime(sessions, clock))
    assert report.planned
    assert await keys(sessions) == [
        "r7:open:sandbox:user:zhang:1",
        "r7:open:sandbox:user:li:1",
        "r7:open:sandbox:user:wang:1",  # the head is told the round opened, like its members
        "r7:remind:sandbox:user:zhang:2020-10-09T09:30",
        "r7:remind:sandbox:user:li:2020-10-09T09:30",
        "r7:open:sandbox:user:zhao:1",
        "r7:remind:sandbox:user:zhao:2020-10-09T09:30",
    ]
    _, first = (await outbox_rows(sessions))[3]
    assert isinstance(first.message, Card)
    assert first.message.title == "评分提醒：距截止还有 5 天"


async def test_each_stage_in_turn_then_a_finished_department_gets_nothing_more(
    sessions: async_sessionmaker[Any],
) -> None:
    await set_last_run(sessions, t(10, 13, 8))
    source = FakeSource()
    clock = Clock(t(10, 13, 8))
    rt = runtime(sessions, clock, source)
    seen: list[str] = []
    for now in [t(10, 13, 15), t(10, 14, 9, 30), t(10, 14, 14), t(10, 15, 9, 30)]:
        clock.now = now
        await jobs.run_sweep(rt)
    seen = [k.split(":", 5)[-1] for k in reminder_keys(await keys(sessions)) if "zhang" in k or "wang" in k]
    assert seen == [
        "2020-10-13T15:00",  # last working day
        "2020-10-14T09:30",  # deadline day, twice
        "2020-10-14T14:00",
        "2020-10-15T09:30",  # overdue: the member...
        "2020-10-15T09:30",  # ...and the head
    ]
    # 市委政法委 finishes; the next overdue slot reaches only 市公安局.
    source.snaps = [RoundSnapshot(7, replace(round_state(done=34)), True)]
    before = len(await keys(sessions))
    clock.now = t(10, 16, 9, 30)
    await jobs.run_sweep(rt)
    new = (await keys(sessions))[before:]
    assert new == ["r7:remind:sandbox:user:zhao:2020-10-16T09:30"]


# --- restart and two processes -------------------------------------------------------------


async def test_a_restart_never_sends_a_slot_twice(sessions: async_sessionmaker[Any]) -> None:
    await set_last_run(sessions, t(10, 14, 9))
    clock = Clock(t(10, 14, 9, 31))
    await jobs.run_sweep(runtime(sessions, clock))
    sent = await keys(sessions)
    # The process dies without a word; a new one starts 10 minutes later (lease run out)
    # and even forgets when planning last ran: the outbox keys still stop every repeat.
    await set_last_run(sessions, t(10, 14, 9))
    clock.now = t(10, 14, 9, 41)
    report = await jobs.run_sweep(runtime(sessions, clock))
    assert report.planned
    assert report.enqueued == 0
    assert report.duplicates == 7  # 4 notices + 3 reminders planned again, all refused
    assert await keys(sessions) == sent


async def test_a_second_scheduler_does_not_plan_while_the_first_holds_the_lease(
    sessions: async_sessionmaker[Any],
) -> None:
    clock = Clock(t(10, 14, 9, 30))
    first, second = runtime(sessions, clock), runtime(sessions, clock)
    assert (await jobs.run_sweep(first)).planned
    assert not (await jobs.run_sweep(second)).planned
    clock.now = t(10, 14, 9, 40)  # the first stopped renewing 10 minutes ago
    assert (await jobs.run_sweep(second)).planned
    assert not (await jobs.run_sweep(first)).planned


async def test_two_schedulers_racing_on_one_database_send_each_slot_once(engine: AsyncEngine) -> None:
    # Separate engines, as two ``scorebot serve`` processes would have.
    from storage.engine import create_engine

    other = create_engine(engine.url.render_as_string(hide_password=False))
    try:
        a, b = session_factory(engine), session_factory(other)
        await set_last_run(a, t(10, 14, 9))
        clock = Clock(t(10, 14, 9, 30))
        first, second = runtime(a, clock), runtime(b, clock)
        for minute in (30, 31, 45):
            clock.now = t(10, 14, 9, minute)
            reports = await asyncio.gather(jobs.run_sweep(first), jobs.run_sweep(second))
            assert sum(r.planned for r in reports) == 1  # the lease lets exactly one plan
        all_keys = await keys(a)
        assert len(all_keys) == len(set(all_keys)) == 7
    finally:
        await other.dispose()


async def test_release_lets_another_process_take_over_at_once(sessions: async_sessionmaker[Any]) -> None:
    clock = Clock(t(10, 14, 9, 30))
    first, second = runtime(sessions, clock), runtime(sessions, clock)
    await jobs.run_sweep(first)
    async with sessions.begin() as s:
        await state.release_lease(s, jobs.LEASE, first.holder, clock())
    assert (await jobs.run_sweep(second)).planned


# --- catch-up -------------------------------------------------------------------------------


async def test_catch_up_inside_the_grace_window(sessions: async_sessionmaker[Any]) -> None:
    await set_last_run(sessions, t(10, 14, 9))  # down from 09:00 to 11:00
    await jobs.run_sweep(runtime(sessions, Clock(t(10, 14, 11))))
    assert "r7:remind:sandbox:user:zhang:2020-10-14T09:30" in await keys(sessions)


async def test_outside_the_grace_window_skipped_and_logged(
    sessions: async_sessionmaker[Any], caplog: pytest.LogCaptureFixture
) -> None:
    await set_last_run(sessions, t(10, 14, 9))  # down from 09:00 to 12:00
    with caplog.at_level(logging.WARNING, logger="schedules.jobs"):
        report = await jobs.run_sweep(runtime(sessions, Clock(t(10, 14, 12))))
    assert report.missed == 2  # both departments' 09:30
    assert reminder_keys(await keys(sessions)) == []
    assert "skipped reminder r7/市委政法委 at 2020-10-14T09:30" in caplog.text


async def test_a_missed_digest_and_snooze_follow_up_are_logged_not_dropped_silently(
    sessions: async_sessionmaker[Any], caplog: pytest.LogCaptureFixture
) -> None:
    # Regression: a digest or a 稍后提醒 follow-up older than the grace window vanished without a word.
    async with sessions.begin() as s:
        await jobs.snooze(s, ZHANG, t(10, 14, 14, 0), ScheduleConfig())  # back at 16:00
    await set_last_run(sessions, t(10, 14, 15))  # down from 15:00 to the next morning
    with caplog.at_level(logging.WARNING, logger="schedules.jobs"):
        report = await jobs.run_sweep(runtime(sessions, Clock(t(10, 15, 9))))
    assert "skipped digest r7/leaders' groups at 2020-10-14T17:30: older than the grace window" in caplog.text
    assert "skipped snooze follow-up r7/市委政法委 sandbox:zhang at 2020-10-14T16:00" in caplog.text
    assert report.missed == 2
    assert [k for k in await keys(sessions) if ":digest:" in k or ":snooze:" in k] == []


async def test_one_rounds_calendar_problem_is_logged_and_the_other_rounds_still_sweep(
    sessions: async_sessionmaker[Any], caplog: pytest.LogCaptureFixture
) -> None:
    # Regression: a date the calendar could not place raised out of the sweep, so no
    # round got its reminders, digest or push.  A year past the data is Monday–Friday.
    def other(round_id: int, due: date) -> RoundSnapshot:
        deadline = deadline_at(due)
        progress = (DepartmentProgress("市公安局", deadline, 10, 5, (PartCount("6", "", 5),)),)
        st = replace(round_state(), info=RoundInfo(str(round_id), "另一轮", deadline), progress=progress)
        return RoundSnapshot(round_id, st, True)

    source = FakeSource(
        [other(8, date(1999, 10, 14)), RoundSnapshot(7, round_state(), True), other(9, date(2028, 1, 10))]
    )
    await set_last_run(sessions, t(10, 14, 9, 29))
    with caplog.at_level(logging.ERROR, logger="schedules.jobs"):
        report = await jobs.run_sweep(runtime(sessions, Clock(t(10, 14, 9, 30)), source))
    assert report.failed == (8,)
    assert "round 8 skipped; its sends due since 2020-10-14 01:29:00+00:00 were not queued" in caplog.text
    assert "节假日数据不含 1999 年" in caplog.text
    assert reminder_keys(await keys(sessions)) == [
        "r7:remind:sandbox:user:zhang:2020-10-14T09:30",
        "r7:remind:sandbox:user:li:2020-10-14T09:30",
        "r7:remind:sandbox:user:zhao:2020-10-14T09:30",
    ]
    assert "r9:open:sandbox:user:zhao:1" in await keys(sessions)


async def test_a_round_that_fails_halfway_leaves_none_of_its_writes(
    sessions: async_sessionmaker[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Regression (review): a round's digest ranks were recorded, then its chart failed, and
    # the record stayed: a later push compared against a digest nobody received.
    async def writes_then_fails(session: AsyncSession, rt: Any, snap: RoundSnapshot, *_: Any) -> Any:
        await state.record_push(session, snap.round_id, f"{state.DIGEST_PREFIX}x", t(10, 14, 9, 30), {"甲局": 1})
        raise RuntimeError("the chart would not draw")

    monkeypatch.setattr(jobs, "_round_sends", writes_then_fails)
    await set_last_run(sessions, t(10, 14, 9, 29))
    report = await jobs.run_sweep(runtime(sessions, Clock(t(10, 14, 9, 30))))
    assert report.failed == (7,)
    async with sessions() as s:
        assert await state.pushed_events(s, 7) == set()


async def test_quiet_hours_plan_nothing_and_keep_last_run(sessions: async_sessionmaker[Any]) -> None:
    await set_last_run(sessions, t(10, 14, 20))
    report = await jobs.run_sweep(runtime(sessions, Clock(t(10, 14, 22))))
    assert not report.planned
    assert await keys(sessions) == []
    async with sessions() as s:
        assert await state.last_run(s, jobs.LEASE) == t(10, 14, 20)


async def test_a_clock_moved_back_plans_from_now_on(sessions: async_sessionmaker[Any]) -> None:
    # The dev clock put back to try a round: the first sweep's window is empty, and
    # from then on the slots go out as they fall due.
    clock = Clock(t(11, 25, 9, 0))
    rt = runtime(sessions, clock)
    await jobs.run_sweep(rt)  # the real time: only the notices
    clock.now = t(10, 14, 9, 0)  # put back
    await jobs.run_sweep(rt)
    clock.now = t(10, 14, 9, 30)
    await jobs.run_sweep(rt)
    assert reminder_keys(await keys(sessions)) == [
        "r7:remind:sandbox:user:zhang:2020-10-14T09:30",
        "r7:remind:sandbox:user:li:2020-10-14T09:30",
        "r7:remind:sandbox:user:zhao:2020-10-14T09:30",
    ]


async def test_sweeps_in_one_process_take_turns(sessions: async_sessionmaker[Any]) -> None:
    # The timer and a wake (the dev clock moved) may fire together: one plans, the other
    # finds every key in the outbox.
    await set_last_run(sessions, t(10, 14, 9))
    rt = runtime(sessions, Clock(t(10, 14, 9, 30)))
    first, second = await asyncio.gather(jobs.run_sweep(rt), jobs.run_sweep(rt))
    assert (first.enqueued, second.enqueued) == (7, 0)
    assert len(await keys(sessions)) == 7


# --- snooze, pause, 催办 -------------------------------------------------------------------


async def test_snooze_holds_reminders_two_hours_then_one_comes(sessions: async_sessionmaker[Any]) -> None:
    await set_last_run(sessions, t(10, 14, 9, 0))
    clock = Clock(t(10, 14, 9, 0))
    rt = runtime(sessions, clock)
    async with sessions.begin() as s:
        until = await jobs.snooze(s, ZHANG, t(10, 14, 9, 0), rt.config)
    assert until == t(10, 14, 11, 0)
    for now in [t(10, 14, 9, 30), t(10, 14, 10, 59), t(10, 14, 11, 0), t(10, 14, 11, 1)]:
        clock.now = now
        await jobs.run_sweep(rt)
    zhang = [k for k in reminder_keys(await keys(sessions)) if "zhang" in k]
    assert zhang == ["r7:snooze:sandbox:user:zhang:2020-10-14T11:00"]


async def test_snooze_late_in_the_day_comes_back_next_morning(sessions: async_sessionmaker[Any]) -> None:
    async with sessions.begin() as s:
        until = await jobs.snooze(s, ZHANG, t(10, 14, 20), ScheduleConfig())
    assert until == t(10, 15, 8)


async def test_paused_round_gets_no_reminders_until_resumed(sessions: async_sessionmaker[Any]) -> None:
    await set_last_run(sessions, t(10, 14, 9))
    clock = Clock(t(10, 14, 9, 30))
    rt = runtime(sessions, clock)
    async with sessions.begin() as s:
        assert await jobs.pause(s, rt.schedules, 7, "sandbox:admin", clock())
        assert not await jobs.pause(s, rt.schedules, 7, "sandbox:admin", clock())
    await jobs.run_sweep(rt)
    assert reminder_keys(await keys(sessions)) == []
    assert [u.kind.value for u in await jobs.list_upcoming(rt, timedelta(hours=12))] == ["digest"]
    async with sessions.begin() as s:
        assert await jobs.resume(s, rt.schedules, 7, clock())
    clock.now = t(10, 14, 14)
    await jobs.run_sweep(rt)
    resumed = reminder_keys(await keys(sessions))
    assert len(resumed) == 3
    assert all(k.endswith(":2020-10-14T14:00") for k in resumed)  # 09:30 stays skipped


def remind_rows(all_keys: list[str]) -> list[str]:
    return [k.removeprefix("r7:") for k in reminder_keys(all_keys)]


async def test_urge_right_after_a_slot_does_not_repeat_it(sessions: async_sessionmaker[Any]) -> None:
    # Regression: 催办 at 09:31 sent every department the 09:30 reminder a second time.
    await set_last_run(sessions, t(10, 14, 9, 29))
    clock = Clock(t(10, 14, 9, 30))
    rt = runtime(sessions, clock)
    await jobs.run_sweep(rt)
    before = await keys(sessions)
    clock.now = t(10, 14, 9, 31)
    assert await jobs.remind_now(rt) == jobs.UrgeReport(0, 0, 2, 3)
    assert await keys(sessions) == before


async def test_urge_within_the_hour_before_a_slot_stands_for_it(sessions: async_sessionmaker[Any]) -> None:
    await set_last_run(sessions, t(10, 14, 13))
    clock = Clock(t(10, 14, 13, 10))
    rt = runtime(sessions, clock)
    report = await jobs.remind_now(rt)
    assert report == jobs.UrgeReport(2, 3, 0, 0, (("市委政法委", 14), ("市公安局", 5)))
    assert remind_rows(await keys(sessions)) == [
        "remind:sandbox:user:zhang:2020-10-14T14:00",
        "remind:sandbox:user:li:2020-10-14T14:00",
        "remind:sandbox:user:zhao:2020-10-14T14:00",
    ]
    _, card = (await outbox_rows(sessions))[0]
    assert isinstance(card.message, Card)
    assert card.message.title == "评分今天24:00截止"
    assert (
        card.message.description
        == "市委政法委：截至10月14日 13:10尚有 14 条评分未完成，请在10月14日（周三）24:00前完成。"
    )
    assert [b.key for b in card.message.buttons] == ["任务", "稍后提醒"]
    reminded = remind_rows(await keys(sessions))
    clock.now = t(10, 14, 14)
    assert (await jobs.run_sweep(rt)).duplicates == 3  # the 14:00 slot was the 催办: not again
    assert remind_rows(await keys(sessions)) == reminded


async def test_urge_twice_within_an_hour_from_chat_and_cli_sends_once(sessions: async_sessionmaker[Any]) -> None:
    # Regression: the chat's 催办 and the CLI's remind-now had keys of their own (a day, an
    # hour), so both in one hour sent every department two different nudges.
    clock = Clock(t(10, 14, 10, 40))
    rt = runtime(sessions, clock)
    assert (await jobs.remind_now(rt)).persons == 3  # the CLI
    clock.now = t(10, 14, 11, 20)
    async with sessions.begin() as s:  # the chat handler, in its event's transaction
        assert await jobs.urge(s, rt.schedules, clock(), 7) == jobs.UrgeReport(0, 0, 2, 3)
    clock.now = t(10, 14, 11, 41)
    assert (await jobs.remind_now(rt)).persons == 3  # an hour on: again
    assert remind_rows(await keys(sessions)) == [
        "remind:sandbox:user:zhang:urge-2020-10-14T10:40",
        "remind:sandbox:user:li:urge-2020-10-14T10:40",
        "remind:sandbox:user:zhao:urge-2020-10-14T10:40",
        "remind:sandbox:user:zhang:urge-2020-10-14T11:41",
        "remind:sandbox:user:li:urge-2020-10-14T11:41",
        "remind:sandbox:user:zhao:urge-2020-10-14T11:41",
    ]


async def test_urge_of_an_overdue_department_reaches_its_head(sessions: async_sessionmaker[Any]) -> None:
    rt = runtime(sessions, Clock(t(10, 15, 10, 40)))
    assert (await jobs.remind_now(rt)).persons == 4
    rows = await outbox_rows(sessions)
    assert [k for k, _ in rows if ":remind-head:" in k] == ["r7:remind-head:sandbox:user:wang:urge-2020-10-15T10:40"]
    (head,) = [o.message for k, o in rows if ":remind-head:" in k]
    assert isinstance(head, Card)
    assert head.title == "评分已逾期 1 天"
    assert head.lines[-1] == "本部门评分已逾期，此提醒同时发给部门负责人。"


async def test_urge_skips_whoever_snoozed(sessions: async_sessionmaker[Any]) -> None:
    rt = runtime(sessions, Clock(t(10, 14, 10, 40)))
    async with sessions.begin() as s:
        await jobs.snooze(s, ZHANG, t(10, 14, 10, 30), rt.config)
    assert await jobs.remind_now(rt) == jobs.UrgeReport(2, 2, 0, 1, (("市委政法委", 14), ("市公安局", 5)))


async def test_urge_in_quiet_hours_is_refused_saying_when(sessions: async_sessionmaker[Any]) -> None:
    # Regression: 催办 at 22:00 went out at once from chat; from the CLI it was queued
    # for the morning with the evening's text.
    rt = runtime(sessions, Clock(t(10, 14, 22)))
    with pytest.raises(jobs.QuietNow) as refused:
        await jobs.remind_now(rt)
    assert refused.value.user_message == "现在是免打扰时段（21:00–08:00），催办未发出；请在10月15日 08:00以后再发。"
    assert await keys(sessions) == []


async def test_urge_of_a_paused_round_is_refused(sessions: async_sessionmaker[Any]) -> None:
    rt = runtime(sessions, Clock(t(10, 14, 10, 40)))
    async with sessions.begin() as s:
        await jobs.pause(s, rt.schedules, 7, "cli", rt.clock())
    with pytest.raises(DomainError, match="提醒已暂停，催办未发出"):
        await jobs.remind_now(rt)
    with pytest.raises(jobs.NoSuchRound):
        await jobs.remind_now(rt, 8)


async def test_list_upcoming(sessions: async_sessionmaker[Any]) -> None:
    rt = runtime(sessions, Clock(t(10, 13, 12)))
    found = [(u.at, u.kind.value, u.department, u.recipients) for u in await jobs.list_upcoming(rt, timedelta(days=1))]
    assert found == [
        (t(10, 13, 15), "remind", "市公安局", 1),
        (t(10, 13, 15), "remind", "市委政法委", 2),
        (t(10, 13, 17, 30), "digest", None, 1),
        (t(10, 14, 9, 30), "remind", "市公安局", 1),
        (t(10, 14, 9, 30), "remind", "市委政法委", 2),
    ]


# --- digest and ranking push ----------------------------------------------------------------


async def test_digest_goes_to_the_leaders_group_once(sessions: async_sessionmaker[Any]) -> None:
    await set_last_run(sessions, t(10, 13, 17))
    clock = Clock(t(10, 13, 17, 30))
    await jobs.run_sweep(runtime(sessions, clock))
    clock.now = t(10, 13, 17, 31)
    await jobs.run_sweep(runtime(sessions, clock))
    digests = [(k, o) for k, o in await outbox_rows(sessions) if ":digest:" in k]
    assert [k for k, _ in digests] == ["r7:digest:sandbox:group:leaders:2020-10-13T17:30#1"]
    assert isinstance(digests[0][1].message, Markdown)
    assert digests[0][1].target == LEADERS


async def test_ranking_push_once_per_event_with_chart_and_workbook(sessions: async_sessionmaker[Any]) -> None:
    source = FakeSource()
    clock = Clock(t(10, 20, 10, 1))
    rt = runtime(sessions, clock, source)
    published = RankingEvent("published-2020-10-20T10:00", t(10, 20, 10), final=True)
    source.snaps = [RoundSnapshot(7, round_state(done=34), False, ROWS, published)]
    report = await jobs.run_sweep(rt)
    assert report.pushed == ("7:published-2020-10-20T10:00",)
    await jobs.run_sweep(rt)  # a restart or the next minute: nothing again
    pushes = [(k, o.message) for k, o in await outbox_rows(sessions) if ":ranking:" in k]
    assert [k.rsplit("#", 1)[1] for k, _ in pushes] == ["md1", "chart", "xlsx"]
    md, png, xlsx = (m for _, m in pushes)
    assert isinstance(md, Markdown)
    assert "最终排名" in md.content
    assert "首次发布" in md.content
    assert isinstance(png, Image)
    assert png.data.startswith(b"\x89PNG")
    assert isinstance(xlsx, File)
    assert xlsx.data == b"PK-xlsx"
    assert source.workbooks == 1
    # A second publish after a correction shows the rank changes since the first.
    swapped = (RankRow(1, "西湖区", Decimal("96")), RankRow(2, "东湖区", Decimal("95.5")))
    again = RankingEvent("published-2020-10-21T10:00", t(10, 21, 10), final=True)
    source.snaps = [RoundSnapshot(7, round_state(done=34), False, swapped, again)]
    clock.now = t(10, 21, 10, 1)
    await jobs.run_sweep(rt)
    (second,) = [o.message for k, o in await outbox_rows(sessions) if k.endswith("2020-10-21T10:00#md1")]
    assert isinstance(second, Markdown)
    assert "1. 西湖区 96分 ↑1" in second.content
    assert "2. 东湖区 95.5分 ↓1" in second.content


def test_parse_groups() -> None:
    assert jobs.parse_groups(["wecom:leaders", "sandbox:leaders"]) == (
        Target.group(Platform.WECOM, "leaders"),
        LEADERS,
    )
    with pytest.raises(jobs.ConfigError, match="平台:群标识"):
        jobs.parse_groups(["leaders"])


# --- the APScheduler wrapper ------------------------------------------------------------------


async def test_scheduler_has_one_fixed_job_and_hands_the_lease_over_on_stop(
    sessions: async_sessionmaker[Any],
) -> None:
    clock = Clock(t(10, 14, 9, 30))
    rt = runtime(sessions, clock)
    await jobs.run_sweep(rt)
    scheduler = Scheduler(rt, sweep_seconds=60)
    await scheduler.start()
    try:
        assert [j.id for j in scheduler.jobs()] == [SWEEP_JOB_ID]
        assert jobs.runtime(rt.holder) is rt
    finally:
        await scheduler.stop()
    assert scheduler.jobs() == []
    with pytest.raises(jobs.DomainError):
        jobs.runtime(rt.holder)
    assert (await jobs.run_sweep(runtime(sessions, clock))).planned  # another process takes over at once
