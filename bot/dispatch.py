"""The event sink: record each inbound event once, then handle it after the callback.

``accept`` only writes the event (dedupe) and queues it, so adapters answer
their platform fast.  Handling runs in per-user worker tasks: one user's
events strictly in order, one at a time; different users concurrently.  A
user's worker ends when their queue is empty, so idle users hold nothing.

Ordering holds within one process; run one server process per database.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.clock import Clock
from bot.events import InboundEvent, UserKey
from bot.messages import Outbound, Text
from handlers.base import Context, Handler, Services, chat_of
from scoring_core.errors import ScorebotError
from storage import inbox, outbox
from storage.models.messaging import EventStatus

log = logging.getLogger(__name__)

APOLOGY = "抱歉，处理这条消息时出了问题，请稍后再试；如果一再出现，请联系市委平安办。"

# An event whose handling crashed the process this many times is given up
# on at start-up instead of crashing it again.
MAX_HANDLING_ATTEMPTS = 3
# How long a callback may wait for its event to be recorded.  Well under WeCom's
# 5 s (a locked SQLite waits up to its 5 s busy_timeout): past it the platform is
# told to try again, and the write, if it lands later, still counts.
ACCEPT_TIMEOUT_SECONDS = 2.0


class StorageBusy(ScorebotError):
    """The database did not record an inbound event in time; the platform should retry."""


class EventDispatcher:
    """Implements ``bot.adapter.EventSink``."""

    def __init__(
        self,
        sessions: async_sessionmaker[Any],
        handler: Handler,
        *,
        clock: Clock,
        services: Services | None = None,
        accept_timeout: float = ACCEPT_TIMEOUT_SECONDS,
    ) -> None:
        self._sessions = sessions
        self._handler = handler
        self._clock = clock
        self._services = services or Services()
        self._accept_timeout = accept_timeout
        self._queues: dict[UserKey, deque[InboundEvent]] = {}
        self._workers: dict[UserKey, asyncio.Task[None]] = {}
        self._late: set[asyncio.Task[bool]] = set()
        self._closed = False

    @property
    def active_users(self) -> int:
        """Users with queued or running events (idle users are dropped)."""
        return len(self._workers)

    async def accept(self, event: InboundEvent) -> bool:
        """Record ``event`` and queue it; StorageBusy when the database is too slow to answer in time."""
        recording = asyncio.create_task(self._record(event), name=f"record:{event.dedupe_key}")
        done, _ = await asyncio.wait({recording}, timeout=self._accept_timeout)
        if not done:
            # Not cancelled: a write that lands later still counts (and the retry is a duplicate).
            self._late.add(recording)
            recording.add_done_callback(self._late_recorded(event))
            raise StorageBusy("数据库繁忙，消息暂未记录")
        new = recording.result()
        if new and not self._closed:
            self._schedule(event)
        # When closed, a recorded event waits in the table for the next start.
        return new

    async def _record(self, event: InboundEvent) -> bool:
        async with self._sessions.begin() as session:
            return await inbox.record(session, event, self._clock())

    def _late_recorded(self, event: InboundEvent) -> Callable[[asyncio.Task[bool]], None]:
        def done(task: asyncio.Task[bool]) -> None:
            self._late.discard(task)
            if task.cancelled() or task.exception() is not None:
                log.warning("event %s not recorded: the platform's retry will bring it", event.dedupe_key)
            elif task.result() and not self._closed:
                log.info("event %s recorded late: handling it", event.dedupe_key)
                self._schedule(event)

        return done

    async def resume(self) -> int:
        """Queue the events a previous run recorded but did not finish; call at start."""
        async with self._sessions() as session:
            events = await inbox.unhandled(session)
        for event in events:
            self._schedule(event)
        if events:
            log.info("resuming %d unhandled events", len(events))
        return len(events)

    async def join(self) -> None:
        """Wait until every queued event has been handled."""
        while self._workers:
            await asyncio.gather(*self._workers.values(), return_exceptions=True)

    async def close(self, grace: float = 10.0) -> None:
        """Stop taking work; give running handlers ``grace`` seconds, then cancel them.

        Queued and cancelled events stay 'received' in the table (a cancelled
        handler's transaction rolls back), so the next start handles them.
        """
        self._closed = True
        if self._late:  # writes that outlived their callback: let them end before the engine does
            await asyncio.wait(self._late, timeout=grace)
        for queue in self._queues.values():
            queue.clear()
        try:
            await asyncio.wait_for(self.join(), grace)
        except TimeoutError:
            workers = list(self._workers.values())
            if not workers:
                return
            log.warning("cancelling %d handlers still running at shutdown", len(workers))
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    def _schedule(self, event: InboundEvent) -> None:
        user = event.user
        self._queues.setdefault(user, deque()).append(event)
        if user not in self._workers:
            self._workers[user] = asyncio.create_task(
                self._drain(user), name=f"events:{user.platform.value}:{user.user_id}"
            )

    async def _drain(self, user: UserKey) -> None:
        try:
            while queue := self._queues.get(user):
                await self._handle(queue.popleft())
        finally:
            # No await between the empty check and this: a new event either
            # found this worker alive or starts a new one.
            self._queues.pop(user, None)
            self._workers.pop(user, None)

    async def _handle(self, event: InboundEvent) -> None:
        key = event.dedupe_key
        try:
            async with self._sessions.begin() as session:
                attempts = await inbox.start_attempt(session, key)
            if attempts > MAX_HANDLING_ATTEMPTS:
                log.error("giving up on event %s after %d attempts", key, attempts - 1)
                await self._fail(event, "handling kept failing", APOLOGY)
                return
            async with self._sessions.begin() as session:
                ctx = Context(session=session, event=event, clock=self._clock, services=self._services)
                await self._handler(ctx)
                await inbox.mark(session, key, EventStatus.HANDLED, self._clock())
        except ScorebotError as exc:
            log.warning("event %s refused: %s", key, exc)
            await self._fail(event, str(exc), exc.user_message)
        except Exception as exc:  # a worker must outlive any handler bug
            log.exception("event %s failed", key)
            await self._fail(event, repr(exc), APOLOGY)

    async def _fail(self, event: InboundEvent, error: str, user_message: str) -> None:
        """Mark the event failed and tell the user, in a fresh transaction."""
        try:
            async with self._sessions.begin() as session:
                now = self._clock()
                await inbox.mark(session, event.dedupe_key, EventStatus.FAILED, now, error)
                await outbox.enqueue(
                    session,
                    Outbound(target=chat_of(event), message=Text(content=user_message)),
                    now,
                )
        except Exception:  # the database itself is failing: the log is all we have
            log.exception("could not record failure of event %s", event.dedupe_key)
