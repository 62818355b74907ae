"""DingTalk (钉钉) enterprise-internal app robot and custom group robots: the only code that knows their wire."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from aiohttp import ClientSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.adapter import EventSink
from bot.dingtalk.adapter import CALLBACK_PATH, DingTalkAdapter
from bot.settings import Settings
from storage.tokens import SqlTokenStore


class Deps(Protocol):
    """What the app factory hands a platform package (its ``AdapterDeps``)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def sink(self) -> EventSink: ...
    @property
    def clock(self) -> Callable[[], datetime]: ...
    @property
    def http(self) -> Callable[[], ClientSession]: ...
    @property
    def sessions(self) -> Callable[[], async_sessionmaker[Any]]: ...


def create_adapter(deps: Deps) -> DingTalkAdapter:
    """The app factory's entry point: tokens shared through the database."""
    return DingTalkAdapter(deps.settings, deps.http, SqlTokenStore(deps.sessions), deps.sink, clock=deps.clock)


__all__ = ["CALLBACK_PATH", "Deps", "DingTalkAdapter", "create_adapter"]
