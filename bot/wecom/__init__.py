"""WeCom (企业微信) self-built app and group robots: the only code that knows their wire."""

from __future__ import annotations

from bot.deps import AdapterDeps
from bot.wecom.adapter import CALLBACK_PATH, WeComAdapter
from storage.tokens import SqlTokenStore


def create_adapter(deps: AdapterDeps) -> WeComAdapter:
    """The app factory's entry point: tokens shared through the database."""
    return WeComAdapter(deps.settings, deps.http, SqlTokenStore(deps.sessions), deps.sink, clock=deps.wall_clock)


__all__ = ["CALLBACK_PATH", "WeComAdapter", "create_adapter"]
