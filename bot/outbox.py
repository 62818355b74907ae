"""The outbox dispatcher: sends due outbox rows through their platform's adapter.

Each row is claimed (``pending`` → ``sending``) in its own transaction before
the send and marked ``sent`` right after, so a row that was sent is never
picked again, across restarts too.  A message the platform takes in several
posts (``Adapter.posts``: a long text split between lines) records each post
as it goes out, so a retry goes on from the post that failed.  The one
at-least-once window: a crash between the platform accepting a post and our
commit leaves it to be sent again when the row's lease runs out; that send
is marked ``resend`` so adapters can ask for the platform's own duplicate
check where there is one (WeCom ``enable_duplicate_check``).

Transient platform errors are retried with exponential back-off (at least
the platform's ``retry_after``) up to ``max_attempts``, then the row is
marked ``failed`` for admins (``storage.outbox.failed``; 发送失败 in chat,
``scorebot outbox`` in the shell).  "Slow down" answers (``RateLimited``)
use no attempt: such a row waits up to ``max_age``.  Rows to one target go
in order; each post takes a token of its rate key (``Adapter.rate_key``),
and a row out of tokens is postponed, not dropped.  At start the buckets
are charged with what went out lately, so a restart does not reset them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.adapter import Adapter, RateLimit
from bot.clock import Clock
from bot.errors import PlatformError, RateLimited
from bot.events import Platform
from bot.ratelimit import RateLimiter
from storage import outbox
from storage.models.messaging import OutboxRow, OutboxStatus

log = logging.getLogger(__name__)

_MIN_IDLE = 0.5


@dataclass(frozen=True, slots=True)
class OutboxPolicy:
    max_attempts: int = 8
    backoff: float = 2.0  # seconds before the first retry, doubled each time
    max_backoff: float = 600.0
    # Longer than any adapter's send may take (HTTP timeouts included): a
    # 'sending' row older than this is taken for a crashed sender's.
    lease: float = 120.0
    poll: float = 5.0
    # A message the platform keeps throttling is given up after this long.
    max_age: float = 24 * 3600.0
    # How far back a restart looks at what was sent, to refill the rate buckets;
    # longer than any platform's rate period.
    rate_memory: float = 3600.0
    batch: int = 200
    concurrency: int = 8

    def retry_delay(self, attempts: int, retry_after: float | None) -> float:
        delay: float = min(self.max_backoff, self.backoff * 2.0 ** max(attempts - 1, 0))
        return max(delay, retry_after or 0.0)


class OutboxDispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[Any],
        adapters: Mapping[Platform, Adapter],
        *,
        clock: Clock,
        policy: OutboxPolicy | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._sessions = sessions
        self._adapters = adapters
        self._clock = clock
        self._policy = policy or OutboxPolicy()
        self._limiter = limiter or RateLimiter()
        self._wake = asyncio.Event()
        # One pass at a time per process: a pass asked for (tests, admin
        # "send now") waits for the running one instead of racing it.
        self._pass = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Ask for a pass now (called after a transaction enqueued rows)."""
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="outbox")

    async def _restore(self) -> None:
        try:
            charged = await self.restore_rate_history()
        except Exception:  # pacing from zero beats not sending at all
            log.exception("outbox: could not read recent sends for the rate buckets")
            return
        if charged:
            log.info("outbox: %d recent posts charged to the rate buckets", charged)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        await self._restore()
        while True:
            self._wake.clear()
            try:
                sent = await self.run_once()
                timeout = await self._idle_time()
                if not sent:
                    # Due rows that would not go (another sender holds them):
                    # don't spin on them.
                    timeout = max(timeout, _MIN_IDLE)
            except Exception:  # a database hiccup must not end the loop
                log.exception("outbox pass failed")
                timeout = self._policy.poll
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _idle_time(self) -> float:
        async with self._sessions() as session:
            next_at = await outbox.next_due_at(session)
        if next_at is None:
            return self._policy.poll
        wait = (next_at - self._clock()).total_seconds()
        return min(self._policy.poll, max(wait, 0.0))

    async def run_once(self) -> int:
        """One pass over the due rows; returns how many were sent."""
        async with self._pass:
            return await self._run_pass()

    async def _run_pass(self) -> int:
        now = self._clock()
        async with self._sessions() as session:
            rows = await outbox.due(session, now, self._policy.batch)
        chains: dict[tuple[str, str, str], list[OutboxRow]] = {}
        for row in rows:
            key = (row.target_platform, row.target_kind, row.target_id)
            chains.setdefault(key, []).append(row)
        gate = asyncio.Semaphore(self._policy.concurrency)
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(self._send_chain(chain, gate)) for chain in chains.values()]
        return sum(task.result() for task in tasks)

    async def _send_chain(self, rows: Sequence[OutboxRow], gate: asyncio.Semaphore) -> int:
        """Send one target's rows in order, stopping at the first that cannot go now."""
        sent = 0
        async with gate:
            for row in rows:
                try:
                    status = await self._send_one(row)
                except Exception:  # one bad row must not stop the others
                    log.exception("outbox row %s: unexpected error", row.id)
                    return sent
                if status is not OutboxStatus.SENT:
                    if status is OutboxStatus.FAILED:
                        continue  # given up: the next message may still go
                    return sent
                sent += 1
        return sent

    async def _send_one(self, row: OutboxRow) -> OutboxStatus:
        policy = self._policy
        now = self._clock()
        adapter = self._adapters.get(Platform(row.target_platform))
        if adapter is None:
            return await self._give_up(row, f"没有平台“{row.target_platform}”的适配器：该平台未配置")
        try:
            message = outbox.decode(row)
        except ValidationError as exc:
            return await self._give_up(row, f"消息内容无法读取（{exc.error_count()} 处不符合格式）")
        if row.status == OutboxStatus.SENDING and row.attempts - row.throttles >= policy.max_attempts:
            return await self._give_up(row, "发送时程序中断，重试次数已用完")

        rate = adapter.rate_key(message)
        wait = self._take_token(rate, now)
        if wait > 0:
            async with self._sessions.begin() as session:
                await outbox.postpone(session, row.id, now + timedelta(seconds=wait))
            return OutboxStatus.PENDING

        async with self._sessions.begin() as session:
            claimed = await outbox.claim(session, row.id, now, now + timedelta(seconds=policy.lease))
        if not claimed:  # another sender has it
            if rate is not None:
                self._limiter.release(rate[0])
            return OutboxStatus.SENDING

        attempts = row.attempts + 1
        # The first post of this try may have gone out on the last one (a crash
        # mid-send leaves the row 'sending'; an error may come after delivery).
        resend = row.status == OutboxStatus.SENDING or row.last_error is not None
        posts = adapter.posts(message)
        first_id: str | None = row.platform_message_id
        for part in range(row.parts_sent, posts):
            if part > row.parts_sent:
                wait = self._take_token(rate, self._clock())
                if wait > 0:  # the rest waits for tokens; what went out stays out
                    async with self._sessions.begin() as session:
                        await outbox.postpone(session, row.id, self._clock() + timedelta(seconds=wait), claimed=True)
                    return OutboxStatus.PENDING
            try:
                result = await adapter.send(message, part=part, resend=resend and part == row.parts_sent)
            except PlatformError as exc:
                return await self._after_error(row, attempts, exc.transient, exc.retry_after, exc)
            except Exception as exc:  # an adapter bug or a raw network error: assume transient
                log.exception("outbox row %s: adapter raised", row.id)
                return await self._after_error(row, attempts, True, None, exc)
            first_id = first_id or result.platform_message_id
            if part + 1 < posts:
                async with self._sessions.begin() as session:
                    await outbox.mark_part_sent(session, row.id, part + 1)

        async with self._sessions.begin() as session:
            await outbox.mark_sent(session, row.id, self._clock(), first_id, parts_sent=posts)
        return OutboxStatus.SENT

    def _take_token(self, rate: tuple[str, RateLimit] | None, now: datetime) -> float:
        """0 when a post may go now (a token spent), else the seconds until one is back."""
        if rate is None:
            return 0.0
        return self._limiter.try_acquire(rate[0], rate[1], now.timestamp())

    async def restore_rate_history(self) -> int:
        """Charge the rate buckets with what went out lately, so a restart does not start them full.

        WeCom drops what goes over a member's limit without a word: without
        this, a restart right after a burst would send a second one.
        """
        now = self._clock()
        async with self._sessions() as session:
            rows = await outbox.sent_since(session, now - timedelta(seconds=self._policy.rate_memory))
        charged = 0
        for row in rows:
            adapter = self._adapters.get(Platform(row.target_platform))
            if adapter is None or row.sent_at is None:
                continue
            try:
                rate = adapter.rate_key(outbox.decode(row))
            except ValidationError:
                continue
            if rate is not None:
                for _ in range(max(row.parts_sent, 1)):
                    self._limiter.record(rate[0], rate[1], row.sent_at.timestamp())
                    charged += 1
        return charged

    async def _after_error(
        self,
        row: OutboxRow,
        attempts: int,
        transient: bool,
        retry_after: float | None,
        exc: Exception,
    ) -> OutboxStatus:
        # PlatformError's text carries the platform's own errcode/errmsg; anything else
        # (a network error, an adapter bug) is said as such, its words kept for the log.
        error = str(exc) if isinstance(exc, PlatformError) else f"网络或程序错误：{str(exc) or type(exc).__name__}"
        # "Slow down" is no fault of the message: it does not use up an attempt,
        # only the time it may wait (so a long throttle delays, it does not lose).
        slowed = isinstance(exc, RateLimited)
        if slowed:
            give_up = self._clock() - row.created_at > timedelta(seconds=self._policy.max_age)
        else:
            give_up = attempts - row.throttles >= self._policy.max_attempts
        if not transient or give_up:
            log.error("outbox row %s failed after %d attempts: %s", row.id, attempts, error)
            async with self._sessions.begin() as session:
                await outbox.mark_failed(session, row.id, error)
            return OutboxStatus.FAILED
        delay = self._policy.retry_delay(attempts, retry_after)
        log.warning("outbox row %s: retry in %.0fs (%s)", row.id, delay, error)
        async with self._sessions.begin() as session:
            await outbox.mark_retry(session, row.id, self._clock() + timedelta(seconds=delay), error, counts=not slowed)
        return OutboxStatus.PENDING

    async def _give_up(self, row: OutboxRow, error: str) -> OutboxStatus:
        log.error("outbox row %s failed: %s", row.id, error)
        async with self._sessions.begin() as session:
            await outbox.mark_failed(session, row.id, error)
        return OutboxStatus.FAILED
