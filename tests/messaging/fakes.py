"""Fakes for the messaging tests: a clock that moves on demand, an adapter that records."""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import UTC, datetime, timedelta

from aiohttp import web

from bot.adapter import Adapter, RateLimit, SendResult
from bot.events import Platform
from bot.messages import Outbound, Text

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class FakeAdapter(Adapter):
    """Records every send; raises the errors queued with ``fail_next``; may hold sends."""

    def __init__(self, platform: Platform = Platform.WECOM, limit: RateLimit | None = None, *, by_line: bool = False):
        self.platform = platform
        self.limit = limit
        # by_line: a text takes one post per line, as a long text is split on a platform
        self.by_line = by_line
        self.sent: list[Outbound] = []
        self.posts_sent: list[tuple[str, float]] = []  # (the line, when), for by_line
        self.clock: FakeClock | None = None
        self.resends: list[bool] = []  # the resend flag of every send
        self.attempts = 0
        self._failures: deque[tuple[str | None, Exception]] = deque()
        self.hold: asyncio.Event | None = None  # when set, sends wait for it
        self.entered = asyncio.Event()

    def fail_next(self, *errors: Exception, to: str | None = None) -> None:
        """The next sends (to ``to`` only, when given) raise ``errors``, one each."""
        self._failures.extend((to, error) for error in errors)

    def _failure(self, outbound: Outbound) -> Exception | None:
        for i, (to, error) in enumerate(self._failures):
            if to is None or to == outbound.target.id:
                del self._failures[i]
                return error
        return None

    def routes(self) -> list[web.RouteDef]:
        return []

    def rate_key(self, outbound: Outbound) -> tuple[str, RateLimit] | None:
        if self.limit is None:
            return None
        return f"{outbound.target.kind.value}:{outbound.target.id}", self.limit

    def posts(self, outbound: Outbound) -> int:
        message = outbound.message
        if self.by_line and isinstance(message, Text):
            return len(message.content.split("\n"))
        return 1

    async def send(self, outbound: Outbound, *, part: int = 0, resend: bool = False) -> SendResult:
        self.attempts += 1
        self.resends.append(resend)
        self.entered.set()
        if self.hold is not None:
            await self.hold.wait()
        failure = self._failure(outbound)
        if failure is not None:
            raise failure
        if self.by_line and isinstance(outbound.message, Text):
            when = self.clock().timestamp() if self.clock else 0.0
            self.posts_sent.append((outbound.message.content.split("\n")[part], when))
            if part + 1 < self.posts(outbound):
                return SendResult()
        self.sent.append(outbound)
        return SendResult(platform_message_id=f"msg-{len(self.sent)}")


async def send_all(adapter: Adapter, outbound: Outbound) -> list[SendResult]:
    """Every post of one message, in order, as the outbox sends them."""
    return [await adapter.send(outbound, part=k) for k in range(adapter.posts(outbound))]
