"""WeCom (企业微信) self-built app and group robots: the only code that knows their wire."""

from bot.wecom.adapter import CALLBACK_PATH, WeComAdapter

__all__ = ["CALLBACK_PATH", "WeComAdapter"]
