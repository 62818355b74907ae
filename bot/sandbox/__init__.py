"""The sandbox messenger: a chat page served by the bot itself, the default platform.

It goes through the same sink (dedupe) and outbox as WeCom; its "sends"
are stored deliveries that the page long-polls.
"""

from bot.sandbox.adapter import SandboxAdapter, create_adapter

__all__ = ["SandboxAdapter", "create_adapter"]
