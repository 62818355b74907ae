"""DingTalk (钉钉) enterprise-internal app robot and custom group robots: the only code that knows their wire."""

from __future__ import annotations

from bot.deps import AdapterDeps
from bot.dingtalk.adapter import CALLBACK_PATH, DingTalkAdapter
from storage.tokens import SqlTokenStore


def create_adapter(deps: AdapterDeps) -> DingTalkAdapter:
    """The app factory's entry point: tokens shared through the database."""
    return DingTalkAdapter(deps.settings, deps.http, SqlTokenStore(deps.sessions), deps.sink, clock=deps.wall_clock)


__all__ = ["CALLBACK_PATH", "DingTalkAdapter", "create_adapter"]
