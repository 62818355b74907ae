"""WeCom (企业微信) self-built app and group robots: the only code that knows their wire."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from aiohttp import ClientSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.adapter import EventSink
from bot.settings import Settings
from bot.wecom.adapter import CALLBACK_PATH, WeComAdapter
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


def create_adapter(deps: Deps) -> WeComAdapter:
    """The app factory's entry point: tokens shared through the database."""
    return WeComAdapter(deps.settings, deps.http, SqlTokenStore(deps.sessions), deps.sink, clock=deps.clock)


__all__ = ["CALLBACK_PATH", "Deps", "WeComAdapter", "create_adapter"]
