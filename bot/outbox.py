"""The outbox dispatcher: sends due outbox rows through their platform's adapter.

Each row is claimed (``pending`` → ``sending``) in its own transaction before
the send and marked ``sent`` right after, so a row that was sent is never
picked again, across restarts too.  The one at-least-once window: a crash
between the platform accepting a send and our ``sent`` commit leaves the row
``sending``; when its lease runs out it is sent again.  Adapters narrow that
window with the platform's own duplicate check where there is one (WeCom
``enable_duplicate_check``).

Transient platform errors are retried with exponential back-off (at least
the platform's ``retry_after``) up to ``max_attempts``, then the row is
marked ``failed`` for admins (``storage.outbox.failed``).  Rows to one
target go in order; rows whose rate key (``Adapter.rate_key``) is out of
tokens are postponed, not dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.adapter import Adapter
from bot.clock import Clock
from bot.errors import PlatformError
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

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
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
            return await self._give_up(row, f"no adapter for platform {row.target_platform}")
        try:
            message = outbox.decode(row)
        except ValidationError as exc:
            return await self._give_up(row, f"unreadable message: {exc}")
        if row.status == OutboxStatus.SENDING and row.attempts >= policy.max_attempts:
            return await self._give_up(row, "sender stopped during the last attempt")

        rate = adapter.rate_key(message)
        if rate is not None:
            wait = self._limiter.try_acquire(rate[0], rate[1], now.timestamp())
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
        try:
            result = await adapter.send(message)
        except PlatformError as exc:
            return await self._after_error(row.id, attempts, exc.transient, exc.retry_after, exc)
        except Exception as exc:  # an adapter bug or a raw network error: assume transient
            log.exception("outbox row %s: adapter raised", row.id)
            return await self._after_error(row.id, attempts, True, None, exc)

        async with self._sessions.begin() as session:
            await outbox.mark_sent(session, row.id, self._clock(), result.platform_message_id)
        return OutboxStatus.SENT

    async def _after_error(
        self,
        row_id: int,
        attempts: int,
        transient: bool,
        retry_after: float | None,
        exc: Exception,
    ) -> OutboxStatus:
        error = str(exc) or repr(exc)
        if not transient or attempts >= self._policy.max_attempts:
            log.error("outbox row %s failed after %d attempts: %s", row_id, attempts, error)
            async with self._sessions.begin() as session:
                await outbox.mark_failed(session, row_id, error)
            return OutboxStatus.FAILED
        delay = self._policy.retry_delay(attempts, retry_after)
        log.warning("outbox row %s: retry in %.0fs (%s)", row_id, delay, error)
        async with self._sessions.begin() as session:
            await outbox.mark_retry(session, row_id, self._clock() + timedelta(seconds=delay), error)
        return OutboxStatus.PENDING

    async def _give_up(self, row: OutboxRow, error: str) -> OutboxStatus:
        log.error("outbox row %s failed: %s", row.id, error)
        async with self._sessions.begin() as session:
            await outbox.mark_failed(session, row.id, error)
        return OutboxStatus.FAILED
