"""The handler contract: what a handler gets, and how it answers.

Messenger-neutral: handlers see the neutral event and build neutral
messages; replies are outbox rows written in the handler's own transaction,
so they are sent if and only if the handler's changes commit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock, DevClock
from bot.events import InboundEvent
from bot.messages import Message, Outbound, Target
from schedules.timing import next_allowed
from scoring_core.directory import Directory
from scoring_core.scheme import Scheme
from storage import outbox

if TYPE_CHECKING:
    from schedules.jobs import Schedules


def chat_of(event: InboundEvent) -> Target:
    """Where an event came from: the group it was said in, else the user."""
    if event.chat_id is not None:
        return Target.group(event.platform, event.chat_id)
    return Target.user(event.platform, event.user_id)


@dataclass(frozen=True, slots=True)
class Services:
    """Read-only things every handler may need, built once by the app factory
    (``bot.app.load_services``, held under ``bot.app.SERVICES``)."""

    scheme: Scheme | None = None
    directory: Directory | None = None
    #: the scheme file's text: a round opened in chat is tied to its hash
    scheme_text: str = ""
    #: dev only (SCOREBOT_DEV_CLOCK): the clock admins move with 调时; None when off
    clock_control: DevClock | None = None
    #: the schedules' rounds, recipients and configuration (催办, 提醒计划, 稍后提醒...)
    schedules: Schedules | None = None


@dataclass(frozen=True, slots=True)
class Context:
    session: AsyncSession
    event: InboundEvent
    clock: Clock
    services: Services

    @property
    def now(self) -> datetime:
        return self.clock()

    @property
    def chat(self) -> Target:
        return chat_of(self.event)

    async def reply(self, message: Message, *, in_place: bool = False) -> None:
        """Answer in the chat the event came from.

        ``in_place`` passes the event's reply token on (WeCom: update the
        clicked card; DingTalk: the session webhook).  A WeCom token is
        single-use, so ask for it on one reply per event.
        """
        token = self.event.reply_token if in_place else None
        await outbox.enqueue(self.session, Outbound(target=self.chat, message=message, reply_token=token), self.now)

    async def send(self, target: Target, message: Message, *, dedupe_key: str | None = None) -> bool:
        """Message someone else (a department's other members, a leaders' group).

        In quiet hours it waits for the next allowed minute (the person who
        wrote gets their answer at once: that is ``reply``).  With a
        ``dedupe_key`` a second send of the same key is dropped; returns False then.
        """
        quiet = self.services.schedules.config.quiet if self.services.schedules else None
        hold = next_allowed(self.now, quiet) if quiet is not None and quiet.contains(self.now) else None
        row_id = await outbox.enqueue(
            self.session,
            Outbound(target=target, message=message, dedupe_key=dedupe_key),
            self.now,
            hold_until=hold,
        )
        return row_id is not None


Handler = Callable[[Context], Awaitable[None]]
