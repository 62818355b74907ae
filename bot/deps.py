"""What the app factory hands each platform package to build its adapter.

Each platform package (``bot.wecom``, ``bot.dingtalk``) exposes
``create_adapter(deps: AdapterDeps) -> Adapter``.  The HTTP and database
handles are getters: the adapter is built when the app is (its routes must
be mounted then), the resources only when the app starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import ClientSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.adapter import EventSink
from bot.clock import Clock, system_clock
from bot.settings import Settings


@dataclass(frozen=True, slots=True)
class AdapterDeps:
    settings: Settings
    sink: EventSink
    #: the bot's clock (deadlines, what the sandbox stamps); moved by the dev clock
    clock: Clock
    http: Callable[[], ClientSession]
    sessions: Callable[[], async_sessionmaker[Any]]
    #: the platforms' time, never moved: callback freshness, token expiry, webhook
    #: signatures are checked against the real clock on the other side
    wall_clock: Clock = system_clock


#: An HTTP session, or a getter for one (adapters are built before the session exists).
SessionSource = ClientSession | Callable[[], ClientSession]


def session_getter(source: SessionSource) -> Callable[[], ClientSession]:
    if isinstance(source, ClientSession):
        return lambda: source
    return source
