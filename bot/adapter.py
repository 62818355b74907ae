"""The adapter contract every messenger package implements.

An adapter owns one platform's wire: it mounts its callback routes, turns
callbacks into neutral ``InboundEvent``s handed to the ``EventSink``, and
renders neutral ``Outbound`` messages for its API.  It holds no scoring rules
and never calls handlers directly: the sink (dedupe + dispatch) does.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from bot.events import InboundEvent, Platform
from bot.messages import Outbound


class EventSink(Protocol):
    """Where adapters hand inbound events: records them (dedupe) and schedules handling.

    Returns False when the event was seen before (a platform retry): the
    adapter then acknowledges without effect.  It must return quickly: the
    handling itself runs after the callback has been answered.
    """

    async def accept(self, event: InboundEvent) -> bool: ...


@dataclass(frozen=True, slots=True)
class SendResult:
    """What the platform answered for one send, kept on the outbox row."""

    platform_message_id: str | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A token bucket's shape: ``per_period`` sends per ``period`` seconds for one key."""

    per_period: int
    period: float


class Adapter(ABC):
    platform: Platform

    @abstractmethod
    def routes(self) -> list[web.RouteDef]:
        """The HTTP routes this platform's callbacks arrive on (may be empty)."""

    @abstractmethod
    async def send(self, outbound: Outbound, *, part: int = 0, resend: bool = False) -> SendResult:
        """Deliver post ``part`` of one message; raise ``bot.errors.PlatformError`` on failure.

        ``resend`` says this post may have reached the platform already (the
        last try of it ended in a crash or an error), so the adapter may ask
        the platform to drop a duplicate.
        """

    def posts(self, outbound: Outbound) -> int:
        """How many platform posts the message takes (a long text is split); each is one ``send``."""
        return 1

    def rate_key(self, outbound: Outbound) -> tuple[str, RateLimit] | None:
        """The bucket each post draws one token from (per recipient, per webhook...), or None."""
        return None

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Open long connections (DingTalk Stream) after the app has started."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release what ``start`` opened."""
