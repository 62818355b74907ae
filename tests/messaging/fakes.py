"""Fakes for the messaging tests: a clock that moves on demand, an adapter that records."""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import UTC, datetime, timedelta

from aiohttp import web

from bot.adapter import Adapter, RateLimit, SendResult
from bot.events import Platform
from bot.messages import Outbound

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

    def __init__(self, platform: Platform = Platform.WECOM, limit: RateLimit | None = None):
        self.platform = platform
        self.limit = limit
        self.sent: list[Outbound] = []
        self.attempts = 0
        self._failures: deque[Exception] = deque()
        self.hold: asyncio.Event | None = None  # when set, sends wait for it
        self.entered = asyncio.Event()

    def fail_next(self, *errors: Exception) -> None:
        self._failures.extend(errors)

    def routes(self) -> list[web.RouteDef]:
        return []

    def rate_key(self, outbound: Outbound) -> tuple[str, RateLimit] | None:
        if self.limit is None:
            return None
        return f"{outbound.target.kind.value}:{outbound.target.id}", self.limit

    async def send(self, outbound: Outbound) -> SendResult:
        self.attempts += 1
        self.entered.set()
        if self.hold is not None:
            await self.hold.wait()
        if self._failures:
            raise self._failures.popleft()
        self.sent.append(outbound)
        return SendResult(platform_message_id=f"msg-{len(self.sent)}")
