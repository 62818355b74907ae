"""Robot webhooks: custom group robots (leaders' groups) and session webhooks (answers in place).

A custom robot's URL carries its access_token and its secret signs each
post: both stay ``SecretStr`` until the request is built, and neither is
logged.  A session webhook needs no signature: its URL is the credential.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.deps import SessionSource, session_getter
from bot.dingtalk.http import post_json
from bot.dingtalk.render import Part, webhook_message
from bot.dingtalk.signing import signed_webhook_url
from bot.settings import DingTalkWebhook


class WebhookSender:
    def __init__(self, session: SessionSource, *, clock: Callable[[], datetime]) -> None:
        self._session = session_getter(session)
        self._clock = clock

    async def _post(self, url: str, body: dict[str, Any], *, action: str) -> dict[str, Any]:
        return await post_json(self._session(), url, body, action=f"{action} {body['msgtype']}")

    async def send_robot(self, hook: DingTalkWebhook, parts: list[Part]) -> int:
        """Post ``parts`` to a custom robot, each freshly signed; how many were sent."""
        secret = hook.secret.get_secret_value() if hook.secret is not None else None
        for part in parts:
            url = signed_webhook_url(hook.url.get_secret_value(), secret, now=self._clock())
            await self._post(url, webhook_message(part), action="robot/send")
        return len(parts)

    async def send_session(self, url: str, parts: list[Part]) -> int:
        """Post ``parts`` to a conversation's session webhook; how many were sent."""
        for part in parts:
            await self._post(url, webhook_message(part), action="robot/sendBySession")
        return len(parts)
