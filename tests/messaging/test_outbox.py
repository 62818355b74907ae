"""The outbox dispatcher: sends once, retries with back-off, gives up, paces, survives crashes."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bot.adapter import RateLimit
from bot.errors import PlatformError, RateLimited
from bot.events import Platform
from bot.messages import Outbound, Target, Text
from bot.outbox import OutboxDispatcher, OutboxPolicy
from storage import outbox
from storage.engine import session_factory
from storage.models.messaging import OutboxRow, OutboxStatus
from tests.messaging.fakes import FakeAdapter, FakeClock

POLICY = OutboxPolicy(max_attempts=4, backoff=2.0, max_backoff=60.0, lease=120.0)
ZHANG = Target.user(Platform.WECOM, "zhang")


def _busy(retry_after: float | None = None) -> PlatformError:
    return RateLimited("发送太频繁", platform="wecom", errcode=45009, transient=True, retry_after=retry_after)


def _system_busy() -> PlatformError:
    return PlatformError("系统繁忙", platform="wecom", errcode=-1, transient=True)


async def _enqueue(sessions: async_sessionmaker[Any], *texts: str, target: Target = ZHANG) -> None:
    async with sessions.begin() as s:
        for text in texts:
            await outbox.enqueue(s, Outbound(target=target, message=Text(content=text)), FakeClock()())


async def _rows(sessions: async_sessionmaker[Any]) -> list[OutboxRow]:
    async with sessions() as s:
        return list(await s.scalars(select(OutboxRow).order_by(OutboxRow.id)))


def _setup(
    engine: AsyncEngine, adapter: FakeAdapter, policy: OutboxPolicy = POLICY
) -> tuple[async_sessionmaker[Any], FakeClock, OutboxDispatcher]:
    sessions = session_factory(engine)
    clock = FakeClock()
    dispatcher = OutboxDispatcher(sessions, {adapter.platform: adapter}, clock=clock, policy=policy)
    return sessions, clock, dispatcher


async def test_a_sent_row_records_the_answer_and_is_never_sent_again(engine: AsyncEngine) -> None:
    adapter = FakeAdapter()
    sessions, _clock, dispatcher = _setup(engine, adapter)
    await _enqueue(sessions, "一", "二")
    assert await dispatcher.run_once() == 2
    assert await dispatcher.run_once() == 0
    assert [m.message for m in adapter.sent] == [Text(content="一"), Text(content="二")]
    assert adapter.resends == [False, False]  # a first send asks for no duplicate check
    rows = await _rows(sessions)
    assert [(r.status, r.platform_message_id, r.attempts) for r in rows] == [
        ("sent", "msg-1", 1),
        ("sent", "msg-2", 1),
    ]


async def test_transient_errors_back_off_exponentially_and_honour_retry_after(
    engine: AsyncEngine,
) -> None:
    adapter = FakeAdapter()
    sessions, clock, dispatcher = _setup(engine, adapter)
    adapter.fail_next(_busy(), _busy(), _busy(retry_after=30))
    await _enqueue(sessions, "提醒")

    waits = []
    for _ in range(3):
        await dispatcher.run_once()
        (row,) = await _rows(sessions)
        assert row.status == OutboxStatus.PENDING
        waits.append((row.next_attempt_at - clock()).total_seconds())
        assert await dispatcher.run_once() == 0  # not due yet: nothing happens
        clock.advance(waits[-1])
    assert waits == [2.0, 4.0, 30.0]  # 2, 4, then the platform's 30 over our 8
    assert await dispatcher.run_once() == 1
    (row,) = await _rows(sessions)
    assert (row.status, row.attempts, row.last_error) == ("sent", 4, None)
    assert len(adapter.sent) == 1


async def test_gives_up_after_the_bound_and_the_row_is_visible_as_failed(
    engine: AsyncEngine,
) -> None:
    adapter = FakeAdapter()
    sessions, clock, dispatcher = _setup(engine, adapter)
    adapter.fail_next(*(_system_busy() for _ in range(POLICY.max_attempts)))
    await _enqueue(sessions, "提醒")
    for _ in range(POLICY.max_attempts):
        await dispatcher.run_once()
        clock.advance(POLICY.max_backoff)
    assert adapter.attempts == POLICY.max_attempts
    async with sessions() as s:
        (failed,) = await outbox.failed(s)
    assert failed.status == OutboxStatus.FAILED
    assert "errcode=-1" in (failed.last_error or "")
    assert adapter.sent == []


async def test_slow_down_answers_delay_but_never_use_up_the_attempts(engine: AsyncEngine) -> None:
    # Regression: eight 45009 answers in a row marked the reminder failed: a rate limit lost it.
    adapter = FakeAdapter()
    sessions, clock, dispatcher = _setup(engine, adapter)
    adapter.fail_next(*(_busy() for _ in range(3 * POLICY.max_attempts)), _system_busy())
    await _enqueue(sessions, "提醒")
    for _ in range(3 * POLICY.max_attempts + 1):
        await dispatcher.run_once()
        clock.advance(POLICY.max_backoff)
    assert await dispatcher.run_once() == 1
    (row,) = await _rows(sessions)
    assert (row.status, row.attempts, row.throttles) == ("sent", 3 * POLICY.max_attempts + 2, 3 * POLICY.max_attempts)
    assert [m.message for m in adapter.sent] == [Text(content="提醒")]


async def test_a_message_throttled_for_longer_than_max_age_is_given_up(engine: AsyncEngine) -> None:
    adapter = FakeAdapter()
    policy = OutboxPolicy(max_attempts=4, backoff=2.0, max_backoff=60.0, max_age=300.0)
    sessions, clock, dispatcher = _setup(engine, adapter, policy)
    adapter.fail_next(*(_busy() for _ in range(20)))
    await _enqueue(sessions, "提醒")
    for _ in range(6):  # tries at 0, 60 … 300 s: not older than 300 s yet
        await dispatcher.run_once()
        clock.advance(60)
    (row,) = await _rows(sessions)
    assert (row.status, row.attempts) == ("pending", 6)
    await dispatcher.run_once()  # at 360 s
    (row,) = await _rows(sessions)
    assert (row.status, row.attempts, row.throttles) == ("failed", 7, 6)


async def test_a_permanent_error_fails_at_once_and_later_rows_still_go(engine: AsyncEngine) -> None:
    adapter = FakeAdapter()
    sessions, _clock, dispatcher = _setup(engine, adapter)
    adapter.fail_next(PlatformError("接收人无效", platform="wecom", errcode=81013))
    await _enqueue(sessions, "一", "二")
    await dispatcher.run_once()
    assert [r.status for r in await _rows(sessions)] == ["failed", "sent"]


async def test_a_backing_off_message_keeps_its_place_in_the_conversation(
    engine: AsyncEngine,
) -> None:
    adapter = FakeAdapter()
    sessions, clock, dispatcher = _setup(engine, adapter)
    # For zhang only: the two conversations are sent concurrently, in either order.
    adapter.fail_next(_busy(), to="zhang")
    await _enqueue(sessions, "一", "二")
    await _enqueue(sessions, "给李", target=Target.user(Platform.WECOM, "li"))
    await dispatcher.run_once()
    assert [m.message for m in adapter.sent] == [Text(content="给李")]
    clock.advance(POLICY.backoff)
    await dispatcher.run_once()
    assert [m.message for m in adapter.sent][1:] == [Text(content="一"), Text(content="二")]


async def test_a_send_cut_off_by_a_crash_is_sent_again_after_the_lease(
    engine: AsyncEngine,
) -> None:
    # The documented at-least-once window: the first sender died mid-send.
    stuck = FakeAdapter()
    stuck.hold = asyncio.Event()
    sessions, clock, first = _setup(engine, stuck)
    await _enqueue(sessions, "一")
    crashed = asyncio.create_task(first.run_once())
    await stuck.entered.wait()
    crashed.cancel()
    await asyncio.gather(crashed, return_exceptions=True)
    assert [r.status for r in await _rows(sessions)] == ["sending"]

    fresh = FakeAdapter()
    second = OutboxDispatcher(sessions, {Platform.WECOM: fresh}, clock=clock, policy=POLICY)
    assert await second.run_once() == 0  # the lease still holds
    clock.advance(POLICY.lease)
    assert await second.run_once() == 1
    assert await second.run_once() == 0
    assert len(fresh.sent) == 1
    assert fresh.resends == [True]  # it may have arrived: the adapter may ask the platform to drop a copy
    assert [r.status for r in await _rows(sessions)] == ["sent"]


async def test_two_dispatchers_on_one_database_send_each_row_once(engine: AsyncEngine) -> None:
    a, b = FakeAdapter(), FakeAdapter()
    sessions, clock, one = _setup(engine, a)
    two = OutboxDispatcher(sessions, {Platform.WECOM: b}, clock=clock, policy=POLICY)
    for user in range(10):
        await _enqueue(sessions, "x", target=Target.user(Platform.WECOM, f"u{user}"))
    await asyncio.gather(one.run_once(), two.run_once())
    assert len(a.sent) + len(b.sent) == 10


async def test_a_burst_of_500_to_one_key_drains_at_the_limit_none_dropped(
    engine: AsyncEngine,
) -> None:
    limit = RateLimit(per_period=20, period=60.0)
    adapter = FakeAdapter(limit=limit)
    sessions, clock, dispatcher = _setup(engine, adapter)
    group = Target.group(Platform.WECOM, "leaders")
    await _enqueue(sessions, *(f"第{i}条" for i in range(500)), target=group)

    start, sent_at = clock(), []
    while len(adapter.sent) < 500:
        before = len(adapter.sent)
        await dispatcher.run_once()
        sent_at += [(clock() - start).total_seconds()] * (len(adapter.sent) - before)
        async with sessions() as s:
            next_at = await outbox.next_due_at(s)
        if next_at is not None and next_at > clock():
            clock.now = next_at
    assert [m.message for m in adapter.sent] == [Text(content=f"第{i}条") for i in range(500)]
    for i in range(len(sent_at) - limit.per_period):
        assert sent_at[i + limit.per_period] - sent_at[i] >= limit.period
    assert sent_at[-1] == (500 // limit.per_period - 1) * limit.period
    async with sessions() as s:
        assert await s.scalar(select(func.count()).select_from(OutboxRow)) == 500
        assert await s.scalar(select(func.count()).where(OutboxRow.status == OutboxStatus.SENT)) == 500


async def _drain(dispatcher: OutboxDispatcher, sessions: async_sessionmaker[Any], clock: FakeClock, until: int) -> None:
    """Run passes, jumping the clock to the next due row, until ``until`` rows are sent."""
    for _ in range(10_000):
        await dispatcher.run_once()
        async with sessions() as s:
            done = await s.scalar(select(func.count()).where(OutboxRow.status == OutboxStatus.SENT))
            next_at = await outbox.next_due_at(s)
        if done >= until:
            return
        if next_at is not None and next_at > clock():
            clock.now = next_at
    raise AssertionError("the outbox did not drain")


async def test_each_post_of_a_split_message_takes_a_token(engine: AsyncEngine) -> None:
    # Regression: a ranking split into 4 robot posts took one token, so 20 such
    # pushes made 80 posts in one minute against the robot's 20.
    limit = RateLimit(per_period=20, period=60.0)
    adapter = FakeAdapter(limit=limit, by_line=True)
    sessions, clock, dispatcher = _setup(engine, adapter)
    adapter.clock = clock
    group = Target.group(Platform.WECOM, "leaders")
    await _enqueue(sessions, *("\n".join(f"第{i}条 第{k}段" for k in range(4)) for i in range(20)), target=group)
    await _drain(dispatcher, sessions, clock, 20)

    assert len(adapter.posts_sent) == 80
    assert [line for line, _ in adapter.posts_sent] == [f"第{i}条 第{k}段" for i in range(20) for k in range(4)]
    times = [at - clock.now.timestamp() for _, at in adapter.posts_sent]
    for i in range(len(times) - limit.per_period):
        assert times[i + limit.per_period] - times[i] >= limit.period
    assert times[-1] - times[0] == 3 * limit.period  # 80 posts at 20 a minute: four windows


async def test_a_post_that_fails_is_retried_without_repeating_the_posts_before_it(engine: AsyncEngine) -> None:
    # Regression: a 45009 on part 2 of a long markdown made the outbox resend part 1.
    adapter = FakeAdapter(by_line=True)
    sessions, clock, dispatcher = _setup(engine, adapter)
    await _enqueue(sessions, "一\n二\n三")
    send = adapter.send

    async def second_post_busy_once(outbound: Outbound, *, part: int = 0, resend: bool = False) -> Any:
        if adapter.attempts == 1:  # the first post went out; the second is answered 45009
            adapter.attempts += 1
            raise _busy()
        return await send(outbound, part=part, resend=resend)

    adapter.send = second_post_busy_once  # type: ignore[method-assign]
    assert await dispatcher.run_once() == 0
    (row,) = await _rows(sessions)
    assert (row.status, row.parts_sent) == ("pending", 1)
    clock.advance(POLICY.backoff)
    assert await dispatcher.run_once() == 1
    assert [line for line, _ in adapter.posts_sent] == ["一", "二", "三"]
    (row,) = await _rows(sessions)
    assert (row.status, row.parts_sent, row.attempts) == ("sent", 3, 2)


async def test_a_restart_does_not_refill_the_rate_buckets(engine: AsyncEngine) -> None:
    # Regression: the buckets lived only in memory: 30 messages, a restart, 30 more,
    # and one member got 60 inside a minute (WeCom drops the excess without a word).
    limit = RateLimit(per_period=30, period=60.0)
    adapter = FakeAdapter(limit=limit)
    sessions, clock, dispatcher = _setup(engine, adapter)
    await _enqueue(sessions, *(f"第{i}条" for i in range(30)))
    assert await dispatcher.run_once() == 30

    clock.advance(10)
    restarted = OutboxDispatcher(sessions, {adapter.platform: adapter}, clock=clock, policy=POLICY)
    assert await restarted.restore_rate_history() == 30
    await _enqueue(sessions, *(f"再{i}条" for i in range(30)))
    assert await restarted.run_once() == 0  # the bucket is still spent
    clock.advance(50)  # a minute after the first burst
    assert await restarted.run_once() == 30
    assert len(adapter.sent) == 60


async def test_a_held_notice_waits_without_holding_up_later_messages_to_the_same_person(engine: AsyncEngine) -> None:
    adapter = FakeAdapter()
    sessions, clock, dispatcher = _setup(engine, adapter)
    async with sessions.begin() as s:
        notice = Outbound(target=ZHANG, message=Text(content="同事已提交"))
        await outbox.enqueue(s, notice, clock(), hold_until=clock() + timedelta(hours=9))
    await _enqueue(sessions, "您的回复")
    assert await dispatcher.run_once() == 1
    assert [m.message for m in adapter.sent] == [Text(content="您的回复")]
    async with sessions() as s:
        assert await outbox.next_due_at(s) == clock() + timedelta(hours=9)
    clock.advance(9 * 3600)
    assert await dispatcher.run_once() == 1
    assert [m.message for m in adapter.sent] == [Text(content="您的回复"), Text(content="同事已提交")]


async def test_waiting_for_tokens_between_posts_uses_no_attempt(engine: AsyncEngine) -> None:
    # Regression (review): each pause of a paced multi-part row cost an attempt, so a long
    # ranking paused a few times was then given up on after one ordinary error.
    limit = RateLimit(per_period=1, period=60.0)
    adapter = FakeAdapter(limit=limit, by_line=True)
    sessions, clock, dispatcher = _setup(engine, adapter)
    adapter.clock = clock
    await _enqueue(sessions, "\n".join(f"第{k}段" for k in range(6)), target=Target.group(Platform.WECOM, "leaders"))
    for _ in range(5):  # one post a minute: five pauses
        await dispatcher.run_once()
        clock.advance(60)
    adapter.fail_next(_system_busy())
    await dispatcher.run_once()  # the last post fails once, transiently
    clock.advance(POLICY.max_backoff)
    await dispatcher.run_once()
    (row,) = await _rows(sessions)
    assert (row.status, row.parts_sent, row.attempts) == ("sent", 6, 2)
    assert [line for line, _ in adapter.posts_sent] == [f"第{k}段" for k in range(6)]
